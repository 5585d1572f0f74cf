"""The compare service: both sides at once, failures isolated, everything stored."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.domain import CompareSnapshot, Role, SideStatus
from bot.engine.compare import CompareService
from bot.store.sqlite import Store
from tests.bot.conftest import ModelServer
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.waiting import wait_until

BASE, INSTRUCT = SMALL_PAIR


class RecordingView:
    """A CompareView that keeps every frame it was shown."""

    def __init__(self, interval: float = 0.02) -> None:
        self.update_interval = interval
        self.started: CompareSnapshot | None = None
        self.frames: list[CompareSnapshot] = []
        self.final: CompareSnapshot | None = None

    async def start(self, snapshot: CompareSnapshot) -> None:
        self.started = snapshot

    async def update(self, snapshot: CompareSnapshot) -> None:
        self.frames.append(snapshot)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        self.final = snapshot


# Every test here runs twice: against the fake Ollama and the fake OpenAI-compatible server,
# each through the routing backend production uses.
@pytest.fixture
def server(model_server: ModelServer):
    """The fake this test scripts, whichever protocol it speaks."""
    return model_server.fake


@pytest.fixture
def make_request(make_request, model_server: ModelServer):
    """Requests name the pair that this test's server serves."""

    def make(*args, **kwargs):
        return replace(make_request(*args, **kwargs), pair=model_server.pair)

    return make


@pytest.fixture
async def service(model_server: ModelServer, store: Store):
    backend = model_server.backend()
    yield CompareService(backend, store)
    await backend.close()


async def test_both_sides_stream_into_the_view_and_the_store(service, store, make_request, server):
    server.script(BASE, Script(tokens=["アニメ", "の", "レビュー"], delay=0.03))
    server.script(INSTRUCT, Script(tokens=["こんにちは", "！"], delay=0.03))
    view = RecordingView()

    final = await service.run(make_request("こんにちは"), view)

    assert view.started is not None and view.started.base.text == ""
    assert view.final == final
    assert final.base.text == "アニメのレビュー" and final.base.status is SideStatus.DONE
    assert final.instruct.text == "こんにちは！" and final.instruct.status is SideStatus.DONE
    assert view.frames, "the view saw live frames before the end"
    row = await store.comparison(final.comparison_id)
    assert row is not None and row["status"] == "done" and row["prompt"] == "こんにちは"
    outputs = await store.outputs(final.comparison_id)
    assert outputs[Role.BASE]["text"] == "アニメのレビュー"
    assert outputs[Role.INSTRUCT]["text"] == "こんにちは！"
    # Ollama counts the end-of-text token too; an OpenAI-compatible server does not.
    assert outputs[Role.BASE]["eval_count"] == 3 + isinstance(server, OllamaFake)


async def test_sides_run_at_the_same_time(service, make_request, server):
    # Each side alone takes about 0.4 s: run in turn they would take 0.8 s.
    for tag in SMALL_PAIR:
        server.script(tag, Script(tokens=["x"] * 5, first_delay=0.2, delay=0.05))
    starts: list[str] = []
    server.on_stream_start = starts.append

    await service.run(make_request(), RecordingView())

    assert server.peak_streams == 2
    assert sorted(starts) == sorted(SMALL_PAIR)


async def test_one_side_failing_never_stops_the_other(
    service, store, make_request, server, model_server
):
    server.models.discard(BASE)
    server.script(INSTRUCT, Script(tokens=["fine", "."], delay=0.02))

    final = await service.run(make_request(), RecordingView())

    assert final.base.status is SideStatus.FAILED
    assert final.base.error_kind == "model_not_pulled"
    assert model_server.missing_model_hint(BASE) in (final.base.error or "")
    assert final.instruct.status is SideStatus.DONE and final.instruct.text == "fine."
    outputs = await store.outputs(final.comparison_id)
    assert outputs[Role.BASE]["status"] == "failed"
    assert outputs[Role.BASE]["error_kind"] == "model_not_pulled"
    assert outputs[Role.INSTRUCT]["text"] == "fine."


async def test_partial_text_of_a_failed_side_is_stored(service, store, make_request, server):
    server.script(INSTRUCT, Script(tokens=["half", " a", " thought"], error_after=2, error="boom"))

    final = await service.run(make_request(), RecordingView())

    outputs = await store.outputs(final.comparison_id)
    assert outputs[Role.INSTRUCT]["status"] == "failed"
    assert outputs[Role.INSTRUCT]["text"] == "half a"
    assert "boom" in outputs[Role.INSTRUCT]["error"]
    assert outputs[Role.BASE]["status"] == "done"


async def test_timeout_on_one_side_leaves_the_other_complete(
    server, store, make_request, model_server
):
    server.script(BASE, Script(first_delay=3.0))
    backend = model_server.backend(first_token=0.3, total=5.0)
    try:
        final = await CompareService(backend, store).run(make_request(), RecordingView())
    finally:
        await backend.close()
    assert final.base.error_kind == "timeout"
    assert final.instruct.status is SideStatus.DONE


async def test_cancelling_closes_both_streams_and_keeps_partial_text(
    service, store, make_request, server
):
    for tag in SMALL_PAIR:
        server.script(tag, Script(tokens=["tick "] * 200, delay=0.02))
    view = RecordingView()
    task = asyncio.create_task(service.run(make_request(), view))
    await wait_until(
        lambda: bool(view.frames and view.frames[-1].base.text and view.frames[-1].instruct.text)
    )

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert view.final is not None
    assert view.final.base.status is SideStatus.CANCELLED
    assert view.final.instruct.status is SideStatus.CANCELLED
    # The server notices the closed connections on its next write.
    await wait_until(lambda: server.active_streams == 0)
    comparison_id = view.final.comparison_id
    row = await store.comparison(comparison_id)
    assert row is not None and row["status"] == "interrupted"
    outputs = await store.outputs(comparison_id)
    assert outputs[Role.BASE]["status"] == "cancelled"
    assert outputs[Role.BASE]["text"].startswith("tick ")


async def test_updates_are_coalesced_to_the_view_interval(service, make_request, server):
    for tag in SMALL_PAIR:
        server.script(tag, Script(tokens=["t"] * 40, delay=0.01))
    view = RecordingView(interval=0.2)

    await service.run(make_request(max_tokens=100), view)

    # 80 chunks over about 0.4 s arrive; at one frame per 0.2 s only a handful are drawn.
    assert 1 <= len(view.frames) <= 4
    assert view.final is not None and view.final.base.text == "t" * 40


async def test_a_view_that_fails_to_update_does_not_stop_the_comparison(
    service, make_request, server
):
    class BrokenView(RecordingView):
        async def update(self, snapshot: CompareSnapshot) -> None:
            raise RuntimeError("platform said no")

    server.script(BASE, Script(tokens=["a", "b", "c"], delay=0.02))
    view = BrokenView()
    final = await service.run(make_request(), view)
    assert final.base.text == "abc"
    assert view.final is not None
