"""One comparison after the ack: wait for a place, show it through the channel's safety gate,
then seed the voting reactions and (blind) schedule the reveal.

Errors after the ack reach the user in the thread (a side's footer) or, when there is no
thread, as an ephemeral message via `response_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from adapters.slack_app.invocation import Invocation, notify, respond
from adapters.slack_app.posting import slack_error
from adapters.slack_app.queueing import GAVE_UP_TEXT, QUEUE_FULL_TEXT, STARTING_TEXT, PlaceNotice
from adapters.slack_app.safety import channel_mode
from adapters.slack_app.texts import INTERNAL_ERROR, invite_message, slack_refused_message
from adapters.slack_app.view import SlackCompareView
from bot.chat_flow import limiter_keys
from bot.compare import CompareView
from bot.domain import SafetyMode
from bot.queue import QueueFull
from bot.safety import GatedView

if TYPE_CHECKING:
    from adapters.slack_app.app import SlackBot
    from adapters.slack_app.command import Job

log = logging.getLogger(__name__)

_NOT_A_MEMBER = {"not_in_channel", "channel_not_found"}


async def run_comparison(bot: SlackBot, call: Invocation, job: Job) -> None:
    async def send(text: str, replace: bool) -> bool:
        return await respond(call, text, replace=replace)

    notice = PlaceNotice(send, bot.place_interval)
    user_key = limiter_keys(job.request.requester)[0]  # the fair queue's idea of "one user"
    # An admin is never refused for a full queue, but still waits its turn for Ollama.
    place = bot.runtime.queue.slot(user_key, notice.on_position, exempt=job.exempt)
    running = False
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(place)
            except QueueFull as exc:
                log.info("/compare refused (queue_full) %s", call.context())
                bot.runtime.metrics.errors.labels("queue_full").inc()
                seconds = max(1, round(exc.retry_after))
                await notify(bot.client, call, QUEUE_FULL_TEXT.format(seconds=seconds))
                return
            running = True
            if notice.told:
                bot.tasks.spawn(notice.finish(STARTING_TEXT), name="slack-queue-started")
            await show(bot, call, job)
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("/compare could not post (%s) %s", error, call.context())
        bot.runtime.metrics.errors.labels("slack_refused").inc()
        if error in _NOT_A_MEMBER:
            await notify(bot.client, call, invite_message(bot.bot_name, call.channel_id))
        else:
            await notify(bot.client, call, slack_refused_message(error))
    except asyncio.CancelledError:
        if not running and notice.told:  # shut down while waiting: say so, briefly
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await notice.finish(GAVE_UP_TEXT)
        raise
    except Exception:
        log.exception("/compare crashed %s", call.context())
        bot.runtime.metrics.errors.labels("internal").inc()
        await notify(bot.client, call, INTERNAL_ERROR)


async def show(bot: SlackBot, call: Invocation, job: Job) -> None:
    settings = bot.runtime.settings
    loop = asyncio.get_running_loop()
    started = loop.time()
    mode = await channel_mode(bot.runtime.store, settings, call.channel_id)
    view = SlackCompareView(
        posts=bot.posts,
        updates=bot.scheduler(call.team_id),
        store=bot.runtime.store,
        channel_id=call.channel_id,
        asked_by=call.user_name,
        intro=job.intro,
    )
    shown: CompareView = view
    if mode is not SafetyMode.OFF:
        shown = GatedView(view, bot.guard, mode, settings.guard_chunk_chars)
    await bot.runtime.service.run(job.request, shown)
    if view.parent_ts is not None:
        bot.seeder(call.team_id).seed(call.channel_id, view.parent_ts)
    if job.request.blind and view.comparison_id is not None:
        elapsed = loop.time() - started
        bot.revealer.reveal_later(view.comparison_id, settings.blind_reveal_after - elapsed)
