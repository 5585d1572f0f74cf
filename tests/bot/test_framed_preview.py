"""What the base model saw, shown compactly: one line, its end always visible."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from adapters.terminal import request_header
from bot.domain import CompareSnapshot, Role, SideSnapshot, SideStats, SideStatus
from bot.engine.catalog import load_catalog
from bot.engine.demos import Demo
from bot.engine.prompt_files import BUILTIN_PROMPTS_DIR
from bot.text.render import framed_preview
from bot.text.report import DemoResult, render_report


def test_qa_shows_the_question_and_the_answer_cue(make_request: Callable[..., Any]):
    assert framed_preview(make_request("What is tea?", framing="qa")) == r"Q: What is tea?\nA:"


def test_a_long_framing_keeps_its_start_and_its_end(make_request: Callable[..., Any]):
    request = make_request("What is tea?", framing="in-context")
    assert len(request.framed_prompt) > 1000

    preview = framed_preview(request, limit=120)

    assert len(preview) <= 120 and "\n" not in preview
    assert preview.startswith(request.framed_prompt[:10].replace("\n", r"\n"))
    assert preview.endswith(request.framed_prompt[-25:].replace("\n", r"\n"))
    assert "What is tea?" in preview  # the prompt sits near the end, where the model continues
    assert f"({len(request.framed_prompt)} characters in all)" in preview


FRAMINGS = load_catalog(BUILTIN_PROMPTS_DIR).framings


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(sorted(FRAMINGS)),
    prompt=st.text(min_size=1, max_size=600),
    limit=st.integers(min_value=40, max_value=300),
)
def test_a_preview_is_always_one_line_within_the_limit(name: str, prompt: str, limit: int):
    text = FRAMINGS[name].frame(prompt)

    class Request:  # the one attribute framed_preview reads
        framed_prompt = text

    preview = framed_preview(Request(), limit=limit)  # type: ignore[arg-type]
    assert len(preview) <= limit
    assert "\n" not in preview and "\r" not in preview
    shown = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", r"\n")
    if len(shown) <= limit:
        assert preview == shown
    else:  # cut in the middle: the end, where the base model continues, is still there
        assert preview.endswith(shown[-4:]) and preview.startswith(shown[:2])


def snapshot_for(request: Any) -> CompareSnapshot:
    def side(role: Role, text: str) -> SideSnapshot:
        model = request.pair.tag(role)
        return SideSnapshot(role, model, text, SideStatus.DONE, SideStats(eval_count=3), None, None)

    return CompareSnapshot(
        comparison_id=7,
        request=request,
        base=side(Role.BASE, "Tea is"),
        instruct=side(Role.INSTRUCT, "Tea is a drink."),
    )


def test_the_terminal_header_shows_what_the_base_model_saw(make_request: Callable[..., Any]):
    console = Console(width=200, record=True, color_system=None)

    console.print(request_header(snapshot_for(make_request("What is tea?", framing="qa"))))
    console.print(request_header(snapshot_for(make_request("What is tea?", framing="raw"))))

    lines = console.export_text().splitlines()
    assert "prompt: What is tea?" in lines
    assert r"base sees: Q: What is tea?\nA:" in lines
    assert sum(line.startswith("base sees:") for line in lines) == 1  # raw: as typed, not repeated


class _Framed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[str] = []
        self.full: list[str] = []
        self.as_typed = 0
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("summary", "pre"):
            self._in = tag
            (self.summaries if tag == "summary" else self.full).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "summary":
            self.summaries[-1] += data
        elif self._in == "pre":
            self.full[-1] += data
        elif "saw the prompt as typed" in data:
            self.as_typed += 1


def test_the_report_shows_the_framed_text_short_and_in_full(make_request: Callable[..., Any]):
    results = [
        DemoResult(
            Demo(name, name, "What is <tea>?", framing, 40, 0.7, "why"),
            snapshot_for(make_request("What is <tea>?", framing=framing)),
            {},
        )
        for name, framing in (("qa-demo", "qa"), ("long", "in-context"), ("plain", "raw"))
    ]
    parsed = _Framed()
    parsed.feed(render_report(results, "llama3.2-1b"))

    qa, long = (result.snapshot.request for result in results[:2])
    assert parsed.summaries == [
        f"The base model saw: {framed_preview(qa)}",
        f"The base model saw: {framed_preview(long)}",
    ]
    assert parsed.summaries[0] == r"The base model saw: Q: What is <tea>?\nA:"  # escaped, shown
    assert parsed.full == [qa.framed_prompt, long.framed_prompt]
    assert parsed.as_typed == 1
