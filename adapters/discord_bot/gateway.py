"""Discord's gateway, paced by the vote log and closed without dropping what is in flight.

Backpressure: discord.py reads the gateway in one loop (`Client.connect` awaits `poll_event`
again and again) and handles each event synchronously, scheduling a task per listener; it has
no place where a reader may wait between events. Reactions are taken without a task (see
`TwinbotClient.dispatch`), and the connection discord.py opens is given this subclass, whose
`poll_event` first waits for room in the buffer. A burst then waits in the socket (aiohttp
stops reading, TCP tells the sender to slow down), not in memory. The wait is short (one batch
written, milliseconds); heartbeats go out from discord.py's own thread meanwhile.

Closing: aiohttp's close sends the close frame, then reads until the server's and drops every
message in between; those are events Discord sent before it saw ours, and it sends none of
them again (a close with 1000 ends the session). So ours is sent first and the reader goes on
handling events until Discord's close frame arrives (at most `CLOSING_WAIT` seconds); then
discord.py's close runs as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable

import aiohttp
from discord.gateway import DiscordWebSocket

Room = Callable[[], Awaitable[None]]
CLOSING_WAIT = 5.0  # seconds for the server's close frame before aiohttp's close takes over


class PacedGateway(DiscordWebSocket):
    """discord.py's gateway connection, reading each next message only once `room` allows,
    and reading on until the server's close frame when closing."""

    room: Room
    reading: bool  # the connection loop is inside `poll_event`
    ended: asyncio.Event  # the connection loop has left this connection

    async def poll_event(self) -> None:
        await self.room()
        self.reading = True
        try:
            await super().poll_event()
        except BaseException:
            self.ended.set()
            raise
        finally:
            self.reading = False

    async def close(self, code: int = 4000) -> None:
        if code == 1000 and self.reading and not self.socket.closed:
            if self._keep_alive:
                self._keep_alive.stop()  # nothing may follow our close frame
            self._close_code = code  # so discord.py takes the server's answer as the end
            await self.socket.send_frame(struct.pack("!H", code), aiohttp.WSMsgType.CLOSE)
            with contextlib.suppress(TimeoutError):  # then aiohttp's close ends it
                await asyncio.wait_for(self.ended.wait(), CLOSING_WAIT)
        await super().close(code)


def paced(ws: DiscordWebSocket, room: Room) -> DiscordWebSocket:
    """`ws` (as discord.py made it), from now on waiting in `room` before each read."""
    # discord.py builds the connection itself (DiscordWebSocket.from_client) and adds
    # attributes to it there; so do we. Same object, same state: two methods are ours.
    if not isinstance(ws, PacedGateway):
        ws.__class__ = PacedGateway
    gateway: PacedGateway = ws  # type: ignore[assignment]  # its class is now PacedGateway
    gateway.room = room
    gateway.reading = False
    gateway.ended = asyncio.Event()
    return gateway
