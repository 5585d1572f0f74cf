"""Live text by Slack's streaming methods, inside their budgets, with chat.update behind them.

A side may stream: `chat.startStream` opens its reply, `chat.appendStream` adds the escaped
new text (Tier 4: about 100 a minute per workspace, a budget of its own beside chat.update's),
`chat.stopStream` closes it, with the rest of the text and the side's footer as blocks under
it (`finish`), so a streamed side ends without a chat.update. Starting and stopping are Tier 2
(about 20 a minute each), so a side streams only when the workspace's start budget has room
at that moment, and only while that gives it more calls than chat.update would: the live
sides share the two budgets so that each side's share is as large as it can be
(`StreamLane.worth_streaming`). Otherwise, and whenever a stream fails (refused, expired:
`message_not_in_streaming_state`), the side goes on by chat.update with its whole text, as it
would without streams. Appended text is escaped by `markdown_text.escape_markdown`, so no
mention, link or markup of the model's is live.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.markdown_text import escape_markdown
from adapters.slack_app.pacing import Budget
from adapters.slack_app.posting import slack_error
from adapters.slack_app.scheduler import MessageKey, UpdateScheduler, _Edit
from adapters.slack_app.texts import footer
from bot.domain import SideSnapshot
from bot.text.render import ROLE_LABELS

log = logging.getLogger(__name__)

MARKDOWN_LIMIT = 12_000  # markdown_text per streaming call
Blocks = list[dict[str, Any]]

# Below Slack's floors (Tier 4: 100+, Tier 2: 20+ a minute), as the update budget is.
APPEND_BUDGET = Budget(90, 60.0)
START_STOP_BUDGET = Budget(18, 60.0)


def stream_title(side: SideSnapshot, blind_letter: str | None) -> str:
    """A streamed reply's first line, in markdown (the model's name escaped like its text)."""
    if blind_letter is not None:
        return f"**{escape_markdown(blind_letter)}**\n\n"
    return f"**{ROLE_LABELS[side.role]}** · {escape_markdown(side.model)}\n\n"


def closing_blocks(side: SideSnapshot) -> Blocks:
    """What chat.stopStream shows under a streamed side's text: its footer (stats, mrkdwn)."""
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": footer(side)}]}]


class AppendScheduler(UpdateScheduler):
    """The update scheduler's pacing, fairness and latest-wins, appending instead of
    replacing: a submitted text is the side's whole raw text, and what goes out is the escaped
    part Slack has not seen yet. A message whose stream Slack refused is `broken`."""

    method = "chat.appendStream"

    def __init__(self, client: AsyncWebClient, budget: Budget, *, name: str = "") -> None:
        super().__init__(client, budget, name=name)
        self._shown: dict[MessageKey, int] = {}  # characters of raw text already appended
        self.broken: set[MessageKey] = set()

    def forget(self, key: MessageKey) -> None:
        self._shown.pop(key, None)
        self.broken.discard(key)

    def shown(self, key: MessageKey) -> int:
        """How many characters of the side's raw text Slack has been sent."""
        return self._shown.get(key, 0)

    async def _call(self, edit: _Edit) -> None:
        if edit.key in self.broken:
            return
        channel, ts = edit.key
        done = self._shown.get(edit.key, 0)
        delta = escape_markdown(edit.text, done)
        if delta:
            await self._client.chat_appendStream(channel=channel, ts=ts, markdown_text=delta)
        self._shown[edit.key] = len(edit.text)

    def _refused(self, edit: _Edit, exc: SlackApiError) -> None:
        super()._refused(edit, exc)
        self.broken.add(edit.key)


class _Window:
    """At most `budget.calls` calls in any `budget.window` seconds; asked, never waited for."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._calls: deque[float] = deque()

    def take(self) -> bool:
        return self._room() <= 0 and self._mark()

    async def wait(self) -> None:
        while True:
            delay = self._room()
            if delay <= 0:
                self._mark()
                return
            await asyncio.sleep(delay)

    def _room(self) -> float:
        """Seconds until a call fits (0: now)."""
        now = asyncio.get_running_loop().time()
        while self._calls and now - self._calls[0] >= self.budget.window:
            self._calls.popleft()
        if len(self._calls) < self.budget.calls:
            return 0.0
        return self._calls[0] + self.budget.window - now

    def _mark(self) -> bool:
        self._calls.append(asyncio.get_running_loop().time())
        return True


class StreamLane:
    """One workspace's streams: starts that never wait (no room: no stream), appends through
    an AppendScheduler, stops that may wait for their budget."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        name: str = "",
        appends: Budget = APPEND_BUDGET,
        starts: Budget = START_STOP_BUDGET,
    ) -> None:
        self._client = client
        self.name = name
        self.appends = AppendScheduler(client, appends, name=name)
        self._starts = _Window(starts)
        self._stops = _Window(starts)  # Tier 2 as well, counted on its own
        self.started = self.fallbacks = self.finished = 0
        self.streaming = 0  # live sides streamed now
        self.editing = 0  # live sides edited by chat.update now (they `release` at the end)

    def worth_streaming(self, updates: Budget) -> bool:
        """Whether one more live side gets more calls a minute as a stream than by chat.update,
        each budget shared by the sides that use it (a tie goes to the stream). With Slack's
        floors (90 appends, 45 updates) six live sides end up four streamed, two edited."""
        appends = self.appends.budget
        streamed = (self.streaming + 1) * updates.calls * appends.window
        edited = (self.editing + 1) * appends.calls * updates.window
        return streamed <= edited

    def release(self) -> None:
        """A side counted in `editing` stopped being live."""
        self.editing = max(0, self.editing - 1)

    async def start(
        self, channel: str, thread_ts: str, first: str, *, user: str, team: str, updates: Budget
    ) -> str | None:
        """A streamed reply under `thread_ts` showing `first` (markdown, already safe), or None
        when chat.update serves the side better, the budget has no room or Slack refuses: the
        caller then posts as usual, and the side counts in `editing` until `release`."""
        if not (self.worth_streaming(updates) and self._starts.take()):
            self.editing += 1
            return None
        try:
            answer = await self._client.chat_startStream(
                channel=channel,
                thread_ts=thread_ts,
                markdown_text=first,
                recipient_user_id=user,
                recipient_team_id=team,
            )
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            why = slack_error(exc) if isinstance(exc, SlackApiError) else repr(exc)
            log.warning("slack streams %s: chat.startStream refused (%s)", self.name, why)
            self.fallbacks += 1
            self.editing += 1
            return None
        self.started += 1
        self.streaming += 1
        return str(answer["ts"])

    async def finish(self, channel: str, ts: str, text: str, blocks: Blocks) -> bool:
        """Stop a stream with the rest of `text` (the side's whole raw text, escaped here) and
        `blocks` under it: True when Slack took it, the message then being complete without
        a chat.update. False when the stream broke or refused: it is stopped all the same and
        the caller replaces the message by chat.update."""
        key = (channel, ts)
        rest = escape_markdown(text, self.appends.shown(key))
        if key in self.appends.broken or len(rest) > MARKDOWN_LIMIT:
            await self.stop(channel, ts)
            return False
        self.appends.forget(key)
        self.streaming = max(0, self.streaming - 1)
        await self._stops.wait()
        try:
            await self._client.chat_stopStream(
                channel=channel, ts=ts, markdown_text=rest or None, blocks=blocks
            )
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            why = slack_error(exc) if isinstance(exc, SlackApiError) else repr(exc)
            log.warning("slack streams %s: chat.stopStream of %s: %s", self.name, ts, why)
            return False
        self.finished += 1
        return True

    async def stop(self, channel: str, ts: str) -> None:
        """Close a stream (its message then takes chat.update); a failure is only logged: the
        final chat.update that follows shows the whole text either way."""
        self.appends.forget((channel, ts))
        self.streaming = max(0, self.streaming - 1)
        await self._stops.wait()  # one stop per start: this rarely waits
        try:
            await self._client.chat_stopStream(channel=channel, ts=ts)
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            why = slack_error(exc) if isinstance(exc, SlackApiError) else repr(exc)
            log.info("slack streams %s: chat.stopStream of %s: %s", self.name, ts, why)

    async def close(self) -> None:
        await self.appends.close()
