"""Undecodable text is kept, not lost: a lone surrogate from a model server (JSON `\\ud800`,
as a Python server writes it) is shown and stored as U+FFFD, and the user is told."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Role
from bot.engine.line_safe import SurrogateMender
from tests.bot.conftest import openai_pair
from tests.bot.test_backend import backend_for as ollama_backend
from tests.bot.test_backend import run as run_ollama
from tests.bot.test_cli import twinbot
from tests.bot.test_openai_backend import backend_for as openai_backend
from tests.bot.test_openai_backend import run as run_openai
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.openai_fake import OpenAIFake

BASE, INSTRUCT = SMALL_PAIR
TOKENS = ["ok ", "\ud800", " then \ud83d", "\ude00 end"]  # a lone one; a pair cut in two
SHOWN = "ok \ufffd then \U0001f600 end"
NOTE = "1 character could not be shown (\ufffd)"

surrogates = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00"])
pieces = st.lists(st.text(max_size=4) | surrogates, max_size=30)


@given(pieces)
def test_mended_pieces_always_encode_and_keep_every_good_character(parts: list[str]) -> None:
    mend = SurrogateMender()
    out = "".join(mend(part) for part in parts) + mend.flush()
    out.encode("utf-8")  # storable and printable
    joined = "".join(parts)
    expected = joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    assert out == expected  # pairs joined across pieces, lone ones replaced one for one
    assert mend.replaced == out.count("\ufffd") - joined.count("\ufffd")


async def test_ollama_backend_keeps_the_text_and_counts(ollama: OllamaFake, make_request) -> None:
    ollama.script(BASE, Script(tokens=TOKENS))
    text, stats = await run_ollama(ollama_backend(ollama.url), Role.BASE, make_request("hi"))
    assert (text, stats.unshown_chars) == (SHOWN, 1)


async def test_openai_backend_keeps_the_text_and_counts(
    openai_fake: OpenAIFake, make_request
) -> None:
    openai_fake.script(BASE, Script(tokens=TOKENS))
    request = replace(make_request("hi"), pair=openai_pair(openai_fake.url))
    text, stats = await run_openai(openai_backend(openai_fake.url), Role.BASE, request)
    assert (text, stats.unshown_chars) == (SHOWN, 1)


async def test_the_terminal_prints_stores_and_says_so(ollama: OllamaFake, tmp_path: Path) -> None:
    ollama.script(BASE, Script(tokens=TOKENS))
    db = tmp_path / "cli.sqlite3"
    result = await twinbot("compare", "hi", host=ollama.url, db=db)
    assert result.code == 0, result.err
    assert SHOWN in result.out and "stopped · 1 character could" in result.out
    with sqlite3.connect(db) as connection:
        stored = dict(connection.execute("SELECT role, text FROM outputs").fetchall())
        [(status,)] = connection.execute("SELECT status FROM comparisons").fetchall()
    assert stored["base"] == SHOWN and status == "done"
