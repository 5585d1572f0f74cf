"""A real discord.py Client, with a CommandTree, against the fake Discord."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

# isort: off
from .discord_fake import (  # first: silences audioop
    ADMINISTRATOR,
    DiscordFake,
    pointed_at,
    running_client,
)
import discord
from discord import app_commands
# isort: on

Handler = Callable[[discord.Interaction, str], Awaitable[None]]
NONE = discord.AllowedMentions.none()


class Bot(discord.Client):
    """One slash command, /echo text:str, whose body each test supplies."""

    def __init__(self, fake: DiscordFake, handler: Handler) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.fake = fake
        self.raw_reactions: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()
        self.resumed = asyncio.Event()
        self.outcome: asyncio.Future[BaseException | None] = asyncio.Future()

        @self.tree.command(name="echo", description="Echo text in a thread")
        @app_commands.describe(text="What to echo")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            try:
                await handler(interaction, text)
            except Exception as exc:  # the test inspects what discord.py raised
                self.outcome.set_result(exc)
            else:
                self.outcome.set_result(None)

        @echo.autocomplete("text")
        async def complete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f"{current}!", value=f"{current}!")]

    async def setup_hook(self) -> None:
        guild = discord.Object(self.fake.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.put_nowait(payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.put_nowait(payload)

    async def on_resumed(self) -> None:
        self.resumed.set()

    def text_channel(self, channel_id: int) -> discord.TextChannel:
        channel = self.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        return channel


async def _defer(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.defer()


async def _echo(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.defer(thinking=True)
    channel = interaction.channel
    assert isinstance(channel, discord.TextChannel)
    parent = await channel.send(f"Echo of {len(text)} characters", allowed_mentions=NONE)
    thread = await channel.create_thread(name="echo", message=parent)
    reply = await thread.send(text, allowed_mentions=NONE)
    await reply.edit(content=text + " (edited)", allowed_mentions=NONE)
    await reply.add_reaction("👍")
    await interaction.edit_original_response(content=f"See {thread.mention}", allowed_mentions=NONE)


async def test_echo_defers_makes_a_thread_sends_edits_and_reacts() -> None:
    async with DiscordFake() as fake, pointed_at(fake), running_client(Bot(fake, _echo)) as bot:
        synced = fake.commands[fake.guild_id]
        assert [(c["name"], c["options"][0]["type"]) for c in synced] == [("echo", 3)]
        rec = await fake.dispatch_slash_command("echo", {"text": "hi <@1> @everyone"})
        assert await asyncio.wait_for(bot.outcome, 5) is None
        first = await rec.wait_callback()
        assert (first.status, first.type) == (200, 5)

        [thread] = fake.threads()
        parent = fake.message(thread.id)  # a thread started from a message takes its id
        assert (thread.type, thread.parent_id, parent.thread_id) == (11, fake.channel_id, thread.id)
        [reply] = fake.channel_messages(thread.id)
        assert reply.contents == ["hi <@1> @everyone", "hi <@1> @everyone (edited)"]
        assert reply.reactions == {"👍": {fake.bot_id}}
        own = await asyncio.wait_for(bot.raw_reactions.get(), 5)  # Discord echoes the bot's own
        assert (own.user_id, own.message_id, str(own.emoji)) == (fake.bot_id, reply.id, "👍")

        original = fake.message(rec.original_message_id or 0)
        assert original.content == f"See <#{thread.id}>" and not original.flags & 128  # not loading
        sent = fake.calls("POST", "/channels/*/messages")
        sent += fake.calls("PATCH", "/channels/*/messages/*")
        assert len(sent) == 3 and all(r.json["allowed_mentions"] == {"parse": []} for r in sent)
        with_body = [r for r in fake.requests if r.status != 204]
        assert {r.response_headers["Content-Type"] for r in with_body} == {"application/json"}
        assert fake.rate_limit_hits == 0


async def test_autocomplete_is_answered_with_type_8() -> None:
    async with DiscordFake() as fake, pointed_at(fake), running_client(Bot(fake, _defer)):
        rec = await fake.dispatch_autocomplete("echo", {"text": "hel"}, focused="text")
        first = await rec.wait_callback()
        assert (first.status, first.type) == (200, 8)
        assert first.data == {"choices": [{"name": "hel!", "value": "hel!"}]}


async def test_late_ack_is_unknown_interaction() -> None:
    async def late(interaction: discord.Interaction, text: str) -> None:
        await asyncio.sleep(0.4)
        await interaction.response.defer()

    fake = DiscordFake(ack_deadline=0.3)
    async with fake, pointed_at(fake), running_client(Bot(fake, late)) as bot:
        rec = await fake.dispatch_slash_command("echo", {"text": "x"})
        exc = await asyncio.wait_for(bot.outcome, 5)
        assert isinstance(exc, discord.NotFound) and exc.code == 10062
        assert (rec.attempts[0].status, rec.attempts[0].error_code) == (404, 10062)
        assert not rec.acked


async def test_second_ack_is_already_acknowledged() -> None:
    async def twice(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.defer()
        interaction.response._response_type = None  # past discord.py's own guard, to the API
        await interaction.response.send_message("again")

    async with DiscordFake() as fake, pointed_at(fake), running_client(Bot(fake, twice)) as bot:
        rec = await fake.dispatch_slash_command("echo", {"text": "x"})
        exc = await asyncio.wait_for(bot.outcome, 5)
        assert isinstance(exc, discord.HTTPException) and (exc.status, exc.code) == (400, 40060)
        assert [(a.status, a.error_code) for a in rec.attempts] == [(200, None), (400, 40060)]


async def test_message_limits_are_invalid_form_body() -> None:
    async with DiscordFake() as fake, pointed_at(fake), running_client(Bot(fake, _defer)) as bot:
        channel = bot.text_channel(fake.channel_id)
        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)
        assert (too_long.value.status, too_long.value.code) == (400, 50035)
        assert "In content: Must be 2000 or fewer in length." in too_long.value.text
        with pytest.raises(discord.HTTPException) as description:
            await channel.send(embed=discord.Embed(description="d" * 4097))
        assert "In embeds.0.description: Must be 4096 or fewer in length." in description.value.text
        with pytest.raises(discord.HTTPException) as total:
            await channel.send(embeds=[discord.Embed(description="d" * 3001)] * 2)
        assert total.value.code == 50035 and "maximum size of 6000" in total.value.text
        ok = await channel.send("x" * 2000)
        assert [m.id for m in fake.channel_messages(fake.channel_id)] == [ok.id]


async def test_429_past_the_channel_budget_then_discordpy_waits_and_succeeds() -> None:
    fake = DiscordFake(rate_limit=2, rate_window=1.0)
    async with fake, pointed_at(fake), running_client(Bot(fake, _defer)) as bot:
        channel = bot.text_channel(fake.channel_id)
        first = await channel.send("a")
        # Edit and create share the channel's budget (1 left) but discord.py keeps two buckets.
        start = asyncio.get_running_loop().time()
        await asyncio.gather(first.edit(content="b"), channel.send("c"))
        assert fake.rate_limit_hits == 1
        [limited] = [r for r in fake.requests if r.status == 429]
        headers, retry_after = limited.response_headers, limited.response["retry_after"]
        assert limited.response["message"] == "You are being rate limited."
        assert limited.response["global"] is False and 0 < retry_after <= 1.0
        assert headers["Via"] == "1.1 google" and headers["X-RateLimit-Remaining"] == "0"
        assert float(headers["Retry-After"]) >= retry_after
        assert {
            "X-RateLimit-Limit",
            "X-RateLimit-Reset",
            "X-RateLimit-Reset-After",
            "X-RateLimit-Bucket",
            "X-RateLimit-Scope",
        } <= headers.keys()
        same = [r for r in fake.requests if (r.method, r.path) == (limited.method, limited.path)]
        assert same[-1].status == 200 and same[-1].at - start >= retry_after - 0.05
        assert [m.content for m in fake.channel_messages(fake.channel_id)] == ["b", "c"]


async def test_switches_deny_threads_and_sending_fail_edits_nsfw() -> None:
    async with DiscordFake() as fake:
        nsfw_id = fake.add_channel("after-dark", nsfw=True)
        async with pointed_at(fake), running_client(Bot(fake, _defer)) as bot:
            nsfw, channel = bot.text_channel(nsfw_id), bot.text_channel(fake.channel_id)
            assert nsfw.is_nsfw() and not channel.is_nsfw()
            msg = await channel.send("parent")
            fake.deny_threads = True
            with pytest.raises(discord.Forbidden) as no_thread:
                await channel.create_thread(name="t", message=msg)
            assert no_thread.value.code == 50013 and fake.threads() == []
            fake.deny_send(nsfw_id)
            with pytest.raises(discord.Forbidden) as no_send:
                await nsfw.send("nope")
            assert no_send.value.code == 50013 and fake.channel_messages(nsfw_id) == []
            fake.fail_next_edits(1, status=500)
            fake.fail_next_edits(1, status=429, retry_after=0.05)
            await msg.edit(content="edited")  # discord.py retries the 500, sleeps out the 429
            edits = fake.calls("PATCH", f"/channels/*/messages/{msg.id}")
            assert [r.status for r in edits] == [500, 429, 200] and fake.rate_limit_hits == 1
            assert fake.message(msg.id).contents == ["parent", "edited"]


async def test_roles_and_the_administrator_permission_reach_interactions() -> None:
    seen: dict[str, object] = {}

    async def inspect(interaction: discord.Interaction, text: str) -> None:
        assert isinstance(interaction.user, discord.Member)
        seen["roles"] = sorted(role.name for role in interaction.user.roles)
        seen["admin"] = interaction.permissions.administrator
        await interaction.response.defer()

    async with DiscordFake() as fake:
        boss = int(fake.add_user("boss")["id"])
        fake.give_role(boss, fake.add_role("mods"))
        fake.give_role(boss, fake.add_role("admins", permissions=ADMINISTRATOR))
        async with pointed_at(fake), running_client(Bot(fake, inspect)) as bot:
            await fake.dispatch_slash_command("echo", {"text": "x"}, user_id=boss)
            assert await asyncio.wait_for(bot.outcome, 5) is None
    assert seen == {"roles": ["@everyone", "admins", "mods"], "admin": True}


async def test_raw_reactions_of_users_reach_the_client() -> None:
    async with DiscordFake() as fake, pointed_at(fake), running_client(Bot(fake, _defer)) as bot:
        msg = await bot.text_channel(fake.channel_id).send("vote")
        await fake.dispatch_reaction_add(fake.channel_id, msg.id, fake.user_id, "👍")
        added = await asyncio.wait_for(bot.raw_reactions.get(), 5)
        assert (added.event_type, added.user_id, added.message_id, added.guild_id) == (
            "REACTION_ADD",
            fake.user_id,
            msg.id,
            fake.guild_id,
        )
        assert str(added.emoji) == "👍" and added.burst is False
        assert added.type is discord.ReactionType.normal and added.message_author_id == fake.bot_id
        assert added.member is not None and added.member.id == fake.user_id
        await fake.dispatch_reaction_remove(fake.channel_id, msg.id, fake.user_id, "👍")
        removed = await asyncio.wait_for(bot.raw_reactions.get(), 5)
        assert (removed.event_type, removed.user_id, str(removed.emoji)) == (
            "REACTION_REMOVE",
            fake.user_id,
            "👍",
        )
        assert fake.message(msg.id).reactions == {"👍": set()}


async def test_gateway_disconnect_resumes_and_replays_missed_dispatches() -> None:
    async with DiscordFake() as fake, pointed_at(fake), running_client(Bot(fake, _defer)) as bot:
        msg = await bot.text_channel(fake.channel_id).send("vote")
        await fake.disconnect_gateway(code=4000)
        await fake.dispatch_reaction_add(fake.channel_id, msg.id, fake.user_id, "🔥")  # while away
        await asyncio.wait_for(bot.resumed.wait(), 5)
        missed = await asyncio.wait_for(bot.raw_reactions.get(), 5)
        assert str(missed.emoji) == "🔥"
        assert (fake.identify_count, fake.resume_count, fake.replayed) == (1, 1, 1)
        assert fake.gateway_connections[-1].startswith("/resume-gateway?")  # resume_gateway_url
        await fake.dispatch_reaction_add(fake.channel_id, msg.id, fake.user_id, "👍")
        after = await asyncio.wait_for(bot.raw_reactions.get(), 5)
        assert str(after.emoji) == "👍"
        rec = await fake.dispatch_slash_command("echo", {"text": "still here"})
        assert (await rec.wait_callback()).status == 200
