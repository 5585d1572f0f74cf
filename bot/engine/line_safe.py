"""Keep Ollama's NDJSON lines whole on their way through httpx.

httpx splits streamed text into lines the way `str.splitlines` does, so a raw U+0085 (NEL),
U+2028 or U+2029 inside a JSON string cuts a line in two and the ollama client fails to parse
it. Go's encoder escapes U+2028 and U+2029 but not U+0085, and base models trained on web text
do write it. Valid JSON can hold these characters only inside strings, where the `\\uXXXX`
escape means the same thing, so rewriting the bytes below the client changes no value.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx

_ESCAPES = {
    "\u0085".encode(): b"\\u0085",
    "\u2028".encode(): b"\\u2028",
    "\u2029".encode(): b"\\u2029",
}
# Trailing bytes that may be the start of one of the sequences above, cut by a chunk boundary.
_PREFIXES = (b"\xe2\x80", b"\xc2", b"\xe2")


def escape_line_breakers(data: bytes) -> bytes:
    for raw, escaped in _ESCAPES.items():
        data = data.replace(raw, escaped)
    return data


class _EscapingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        held = b""
        async for chunk in self._inner:
            data = held + chunk
            held = next((p for p in _PREFIXES if data.endswith(p)), b"")
            if held:
                data = data[: -len(held)]
            if data:
                yield escape_line_breakers(data)
        if held:
            yield held

    async def aclose(self) -> None:
        await self._inner.aclose()


class LineSafeTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose response bodies carry no raw line-breaking code points."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _EscapingStream(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


_SURROGATE = re.compile("[\ud800-\udfff]")


class SurrogateMender:
    """Model text made storable and printable, one streamed piece at a time.

    JSON can carry a lone surrogate (`"\\ud800"`), which a Python server writes for text it
    could not encode; Python decodes it into a str that SQLite and the terminal then refuse to
    encode, so the whole side was lost. Here a pair split across two pieces is joined, and a
    surrogate still alone becomes U+FFFD, counted in `replaced` so the user can be told.
    """

    def __init__(self) -> None:
        self._held = ""  # a high surrogate that may pair with the next piece's first character
        self.replaced = 0

    def __call__(self, text: str) -> str:
        text, self._held = self._held + text, ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._held = text[:-1], text[-1]
        return self._mend(text)

    def flush(self) -> str:
        """What is still held at the end of the stream (a lone high surrogate, replaced)."""
        held, self._held = self._held, ""
        return self._mend(held)

    def _mend(self, text: str) -> str:
        if not _SURROGATE.search(text):
            return text
        # UTF-16 holds pairs as they are: decoding joins each pair and replaces the rest.
        mended = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        self.replaced += mended.count("\ufffd") - text.count("\ufffd")
        return mended
