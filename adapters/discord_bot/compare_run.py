"""One comparison after its acknowledgement: wait for a place, run, say what went wrong.

The comparison takes its place in the core's fair queue (the parent's waiting line follows
it), then runs through its view, wrapped in the safety gate where the channel has one. Model
failures are the core's business (a line in the thread per failed side). What is left here:
a queue that filled up during the acknowledgement, a shutdown before the comparison's turn,
and anything unexpected, each told to the user and logged with who and where.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord_bot.parent import ParentMessage
from adapters.discord_bot.queueing import NOT_STARTED_RESTART
from adapters.discord_bot.surfaces import NO_MENTIONS
from adapters.discord_bot.view import ThreadView
from bot.chat_flow import limiter_keys
from bot.compare import CompareView
from bot.domain import CompareRequest
from bot.queue import QueueFull

if TYPE_CHECKING:
    from adapters.discord_bot.context import BotContext

log = logging.getLogger(__name__)

SETTLE = 5.0  # seconds the last parent edit may take after a comparison ends


@dataclass(frozen=True, slots=True)
class Job:
    request: CompareRequest
    interaction: discord.Interaction[Any]
    parent: ParentMessage
    view: ThreadView
    shown: CompareView  # the view, or the safety gate wrapped around it
    exempt: bool  # an admin: no rate limit, never refused by a full queue
    where: str  # who and where, for the operator's log


async def run_job(ctx: BotContext, job: Job) -> None:
    runtime = ctx.runtime
    user_key = limiter_keys(job.request.requester)[0]  # the fair queue's idea of one user
    started = False
    try:
        async with contextlib.AsyncExitStack() as stack:
            with ctx.intake.waiting_for_a_place():
                try:
                    # An admin is never refused for a full queue, but still waits its turn.
                    place = runtime.queue.slot(user_key, job.parent.on_position, exempt=job.exempt)
                    await stack.enter_async_context(place)
                except QueueFull as exc:
                    await _busy(ctx, job, exc)
                    return
            started = True
            job.parent.started()
            final = await runtime.service.run(job.request, job.shown)
        shown = len(job.view.message_ids)
        log.info(
            "comparison #%d for %s shown in %d messages", final.comparison_id, job.where, shown
        )
    except asyncio.CancelledError:
        if not started:  # shut down while waiting: it never started, so nothing is stored
            job.parent.ended(NOT_STARTED_RESTART)
        await job.parent.settle(2.0)  # the last word on the parent, while the client is up
        raise
    except Exception:
        # The view has told the requester already; the operator gets the whole story.
        log.exception("comparison for %s could not run", job.where)
        runtime.metrics.errors.labels("internal").inc()
    await job.parent.settle(SETTLE)


async def _busy(ctx: BotContext, job: Job, exc: QueueFull) -> None:
    log.info("refused %s: queue_full after the acknowledgement: %s", job.where, exc)
    ctx.runtime.metrics.errors.labels("queue_full").inc()
    job.parent.ended(f"⏹️ Not run: {exc}")
    try:
        await job.interaction.followup.send(str(exc), ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.error("could not tell %s that the queue is full: %s", job.where, error)
    await job.parent.settle(SETTLE)
