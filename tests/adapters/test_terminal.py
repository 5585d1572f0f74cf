"""The terminal view: what a side shows, the live frame that follows the newest lines within the
window, and the whole outputs printed once at the end. Comparisons stream from the fake Ollama
through the real service into a rich Console of fixed size."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rich.console import Console

from adapters.terminal import LiveFrame, SidePanel, TerminalView
from bot.config import REPO_ROOT, Settings
from bot.domain import CompareSnapshot, Requester, Role, SideSnapshot, SideStats, SideStatus
from bot.engine.catalog import Catalog, load_catalog
from bot.engine.requests import build_request
from bot.runtime import open_runtime
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.vocabularies import VOCABULARIES

BASE, INSTRUCT = SMALL_PAIR
HEIGHT = 30
# What rich writes besides text on a terminal: cursor moves, line erases, carriage returns.
CONTROLS = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
MARKER = "… (earlier text above)"
# Outputs taller than the window: numbered lines, and Japanese in one paragraph (it wraps by
# cells, never at a space). Each line's newline starts the next token, as a tokenizer splits
# them: a token ending in "\n" could start a stop sequence, and Ollama holds such text back.
LINES = (
    [f"{'' if n == 1 else chr(10)}b{n:03} こんにちは、今日は" for n in range(1, 61)],
    [f"{'' if n == 1 else chr(10)}i{n:03} hello there" for n in range(1, 41)],
)
JAPANESE = (
    [f"{n:03}番目の文章です。" for n in range(1, 121)],
    [f"第{n:03}回、長い答えが続きます。" for n in range(1, 81)],
)


def shown(side: SideSnapshot) -> str:
    twin = SideSnapshot(Role.INSTRUCT, "m:2", "", SideStatus.WAITING, SideStats(), None, None)
    console = Console(width=80, record=True)
    console.print(SidePanel(side, twin))
    return console.export_text()


def test_a_waiting_side_shows_an_ellipsis():
    waiting = SideSnapshot(Role.BASE, "m:1", "", SideStatus.WAITING, SideStats(), None, None)
    assert "…" in shown(waiting) and "no text" not in shown(waiting)


def test_a_side_that_finished_without_text_says_so():
    stats = SideStats(done_reason="stop", eval_count=1)
    done = SideSnapshot(Role.BASE, "m:1", "", SideStatus.DONE, stats, None, None)
    text = shown(done)
    assert "(no text)" in text and "no text · 1 token · stopped" in text


class Writes(io.StringIO):
    """A terminal's input: every write rich makes, kept apart (one per drawn frame)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@dataclass
class Frame:
    snapshot: CompareSnapshot
    lines: list[str]


class WatchedView(TerminalView):
    """The real view; it only notes which snapshot each drawn frame came from."""

    def __init__(self, console: Console, writes: Writes) -> None:
        super().__init__(console, refresh_interval=0.02)
        self.frames: list[Frame] = []
        self._writes = writes

    async def update(self, snapshot: CompareSnapshot) -> None:
        before = len(self._writes.writes)
        await super().update(snapshot)
        drawn = CONTROLS.sub("", "".join(self._writes.writes[before:]))
        self.frames.append(Frame(snapshot, drawn.splitlines()))


def columns(lines: list[str]) -> dict[Role, list[str]]:
    """Each side's rows inside its panel, read off the drawn lines (both panels side by side,
    or one, once the other has ended)."""
    rows: dict[Role, list[str]] = {Role.BASE: [], Role.INSTRUCT: []}
    for line in lines:
        cells = re.findall(r"│ (.*?) *│", line)
        if len(cells) == 2:
            rows[Role.BASE].append(cells[0])
            rows[Role.INSTRUCT].append(cells[1])
        elif len(cells) == 1:
            rows[Role.BASE if line.startswith("│") else Role.INSTRUCT].append(cells[0])
    return rows


def body_and_footer(rows: list[str]) -> tuple[list[str], list[str]]:
    """The text rows (above the blank line) and the stats rows (below it)."""
    blank = rows.index("")
    return rows[:blank], [row for row in rows[blank:] if row]


def squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


async def compare(
    settings: Settings, catalog: Catalog, console: Console, writes: Writes
) -> tuple[WatchedView, CompareSnapshot]:
    request = build_request(settings, catalog, Requester("terminal", "local"), "こんにちは")
    view = WatchedView(console, writes)
    async with open_runtime(settings, VOCABULARIES) as runtime:
        final = await runtime.service.run(request, view)
    return view, final


def assert_follows_the_tail(view: WatchedView) -> None:
    """In every frame drawn while a side wrote: the frame fits the window, the side's rows end
    with the newest text of that snapshot, and "writing…" is under it."""
    overflowed = {Role.BASE: False, Role.INSTRUCT: False}
    for frame in view.frames:
        assert len(frame.lines) <= HEIGHT, "\n".join(frame.lines)
        sides = columns(frame.lines)
        for side in frame.snapshot.sides:
            if side.status is not SideStatus.STREAMING or not side.text:
                continue
            body, footer = body_and_footer(sides[side.role])
            assert footer == ["writing…"], sides[side.role]
            if body[0] == MARKER:
                overflowed[side.role] = True
                body = body[1:]
            visible = squeezed("".join(body))
            assert visible and squeezed(side.text).endswith(visible), (visible, side.text)
    # The window was too small for the outputs at some point, so the tail was what showed.
    assert overflowed == {Role.BASE: True, Role.INSTRUCT: True}


async def streamed_on_a_terminal(
    ollama: OllamaFake,
    settings: Settings,
    catalog: Catalog,
    tokens: tuple[list[str], list[str]],
    delays: tuple[float, float],
    width: int,
) -> tuple[CompareSnapshot, str]:
    """Runs a comparison into a terminal `width` columns wide and HEIGHT rows tall; checks that
    every live frame followed the tail; returns the final snapshot and the last thing drawn."""
    for tag, side_tokens, delay in zip(SMALL_PAIR, tokens, delays, strict=True):
        ollama.script(tag, Script(tokens=side_tokens, delay=delay))
    writes = Writes()
    console = Console(
        file=writes, force_terminal=True, color_system=None, width=width, height=HEIGHT
    )
    view, final = await compare(settings, catalog, console, writes)
    assert_follows_the_tail(view)
    return final, CONTROLS.sub("", writes.writes[-1])


async def test_the_live_view_follows_the_newest_lines_of_each_side(
    ollama: OllamaFake, settings: Settings, catalog: Catalog
) -> None:
    base, instruct = LINES
    final, last = await streamed_on_a_terminal(ollama, settings, catalog, LINES, (0.01, 0.015), 100)

    assert final.base.text == "".join(base)
    assert MARKER not in last and "writing…" not in last
    for line in base + instruct:
        assert last.count(line.strip()) == 1, line  # both outputs whole, once each
    assert "61 tokens" in last and "41 tokens" in last


async def test_wrapped_japanese_without_newlines_keeps_its_tail(
    ollama: OllamaFake, settings: Settings, catalog: Catalog
) -> None:
    _, last = await streamed_on_a_terminal(ollama, settings, catalog, JAPANESE, (0.005, 0.008), 60)

    drawn = columns(last.splitlines())
    for role, tokens in zip((Role.BASE, Role.INSTRUCT), JAPANESE, strict=True):
        assert squeezed("".join(drawn[role])).startswith(squeezed("".join(tokens)))


async def test_a_pipe_gets_both_whole_outputs_once(
    ollama: OllamaFake, settings: Settings, catalog: Catalog
) -> None:
    base = [f"b{n:03}\n" for n in range(1, 81)]
    ollama.script(BASE, Script(tokens=base, delay=0.002))
    ollama.script(INSTRUCT, Script(tokens=["fine"]))
    writes = Writes()
    console = Console(file=writes, width=60, height=HEIGHT)  # not a terminal: no live frames
    await compare(settings, catalog, console, writes)

    out = writes.getvalue()
    assert [line.strip() for line in base] == re.findall(r"b\d{3}", out)
    assert MARKER not in out and "fine" in out


def snapshot(
    make_request: Callable[..., Any],
    pair: str,
    base_text: str,
    instruct_text: str = "",
    prompt: str = "hi",
) -> CompareSnapshot:
    request = make_request(prompt, pair=pair, framing="qa")
    streaming = SideStatus.STREAMING

    def side(role: Role, tag: str, text: str) -> SideSnapshot:
        return SideSnapshot(role, tag, text, streaming, SideStats(), None, None)

    return CompareSnapshot(
        1,
        request,
        side(Role.BASE, request.pair.base, base_text),
        side(Role.INSTRUCT, request.pair.instruct, instruct_text),
    )


def drawn(renderable: object, width: int, height: int = HEIGHT) -> list[str]:
    console = Console(width=width, height=height, record=True)
    console.print(renderable)
    return console.export_text().splitlines()


def titles(lines: list[str]) -> tuple[str, str]:
    [top] = [line for line in lines if "╭─ B" in line]
    # Each title whole, with the space rich pads it with: a title rich had to crop has none.
    base, instruct = re.findall(r"╭─ ([^╮]*?) ─*╮", top)
    return base, instruct


def words(tag: str) -> set[str]:
    return set(re.split(r"[:/_.-]", tag))


@pytest.mark.parametrize("pair", sorted(load_catalog(REPO_ROOT / "prompts").pairs))
@pytest.mark.parametrize(
    ("width", "labels"), [(60, ("Base · ", "Instruct · ")), (40, ("B ", "I "))]
)
def test_narrow_titles_keep_what_tells_the_twins_apart(
    make_request: Callable[..., Any],
    catalog: Catalog,
    pair: str,
    width: int,
    labels: tuple[str, str],
) -> None:
    tags = catalog.pairs[pair]
    base, instruct = titles(drawn(LiveFrame(snapshot(make_request, pair, "x")), width))

    assert base.startswith(labels[0]) and instruct.startswith(labels[1])
    # The words that differ between the tags (`text`, `instruct`) stay whole on each side.
    assert any(word in base for word in words(tags.base) - words(tags.instruct)), base
    assert any(word in instruct for word in words(tags.instruct) - words(tags.base)), instruct


def test_a_wide_window_names_the_models_in_full(
    make_request: Callable[..., Any], catalog: Catalog
) -> None:
    tags = catalog.pairs["llama3.2-1b"]
    base, instruct = titles(drawn(LiveFrame(snapshot(make_request, "llama3.2-1b", "x")), 120))
    assert (base, instruct) == (f"Base · {tags.base}", f"Instruct · {tags.instruct}")


@pytest.mark.parametrize("height", [12, 20, 30])
def test_the_frame_fits_the_window_with_a_long_prompt_and_output(
    make_request: Callable[..., Any], height: int
) -> None:
    prompt = "a long question " * 200
    long = snapshot(make_request, "llama3.2-1b", "word " * 2000, "語" * 3000, prompt)
    lines = drawn(LiveFrame(long), width=60, height=height)
    assert len(lines) <= height
    assert lines[-2].count("writing…") == 2  # both stats lines, above the panels' bottoms
