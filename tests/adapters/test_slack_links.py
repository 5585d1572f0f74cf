"""Links stay text on Slack: mrkdwn renders no `[text](url)` (only `<url|label>`, which the
escaping disarms), so a masked link from a model or a prompt shows as written with its URL
visible, and no post of twinbot's unfurls a preview."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from adapters.slack_app.mrkdwn import unescape
from adapters.slack_app.texts import footer, side_replies
from bot.config import Settings
from bot.domain import Role, SideSnapshot, SideStats, SideStatus
from tests.adapters.slack_harness import slack_bot
from tests.fakes.ollama_fake import OllamaFake, Script

MASKED = "[click here](https://evil.example/a?b=c)"
SLACK_LINK = "<https://evil.example/x|click here>"
link_piece = st.sampled_from(
    [MASKED, SLACK_LINK, "<https://e.example>", "[", "](", "<", ">", "|", "&", " ", "\n",
     "https://e.example/p", "x" * 90]
)  # fmt: skip
link_text = st.lists(link_piece | st.text(max_size=6), max_size=200).map("".join)
LIVE = re.compile(r"<[^<>]*>")  # any <...> Slack would parse as a link, mention or command


def done(text: str) -> SideSnapshot:
    return SideSnapshot(Role.BASE, "m:text", text, SideStatus.DONE, SideStats(), None, None)


@given(text=link_text.filter(lambda t: t.strip() != ""))
def test_no_link_form_of_slacks_survives_and_every_character_is_shown(text: str) -> None:
    side = done(text)
    replies = side_replies(side)
    assert not any(LIVE.search(reply.text) for reply in replies)
    pieces = [reply.text.split("\n", 1)[1] for reply in replies]
    pieces[-1] = pieces[-1].removesuffix("\n\n" + footer(side))
    assert unescape("".join(pieces)) == text


async def test_over_the_wire_links_are_text_and_nothing_unfurls(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    tokens = ["Read ", MASKED, " or ", SLACK_LINK, " or https://e.example/p"]
    ollama.default_script = Script(tokens=tokens, delay=0.01)
    async with slack_bot(make_settings(ollama_host=ollama.url)) as slack:
        assert (await slack.command(f"summarise {MASKED} and {SLACK_LINK}")).status == 200
        await slack.settled()
        [parent] = slack.parents()
        replies = slack.replies(parent)
        posts = slack.fake.calls_to("chat.postMessage")
    assert "summarise [click here](https://evil.example/a?b=c) and " in parent.text
    shown = "\n".join(reply.text for reply in replies)
    assert (
        "Read [click here](https://evil.example/a?b=c) or &lt;https://evil.example/x|click" in shown
    )
    assert not LIVE.search(shown)
    assert posts and all(
        str(call.params.get("unfurl_links")).lower() in ("false", "0")
        and str(call.params.get("unfurl_media")).lower() in ("false", "0")
        for call in posts
    )
