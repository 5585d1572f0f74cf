"""`twinbot pull` through the real `ollama` client against a fake /api/pull (NDJSON progress)."""

from __future__ import annotations

import argparse
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.config import REPO_ROOT
from bot.engine.catalog import load_catalog
from bot.engine.pull import PullError, add_pull_command, pull_models, run_pull_command, tags_to_pull
from bot.errors import BackendUnreachable, PromptsError
from tests.fakes.ollama_fake import OllamaFake

GIB = 1 << 30


class PullFake:
    """Ollama's /api/tags and /api/pull: progress lines, then `success`; an error line for a
    tag the registry does not have (the status stays 200, as Ollama streams it)."""

    def __init__(self, present: set[str], known: set[str]) -> None:
        self.present = set(present)
        self.known = known
        self.pulled: list[str] = []
        self.url = ""

    async def tags(self, request: web.Request) -> web.Response:
        models = [{"name": t, "model": t, "size": 1, "digest": "0" * 64} for t in self.present]
        return web.json_response({"models": models})

    async def pull(self, request: web.Request) -> web.StreamResponse:
        tag = (await request.json())["model"]
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        lines: list[dict[str, object]] = [{"status": "pulling manifest"}]
        if tag not in self.known:
            lines.append({"error": "pull model manifest: file does not exist"})
        else:
            layer = {"status": "pulling 74701a8c35f6", "digest": "sha256:74701a8c35f6"}
            lines += [
                {**layer, "total": GIB, "completed": done} for done in range(0, GIB + 1, GIB // 8)
            ]
            lines += [{"status": "verifying sha256 digest"}, {"status": "success"}]
            self.pulled.append(tag)
            self.present.add(tag)
        for line in lines:
            await response.write(json.dumps(line).encode() + b"\n")
        await response.write_eof()
        return response


@pytest.fixture
async def pull_fake() -> AsyncIterator[PullFake]:
    fake = PullFake(present={"llama3.2:1b-text-q4_K_M"}, known={"llama3.2:1b-instruct-q4_K_M"})
    app = web.Application()
    app.router.add_get("/api/tags", fake.tags)
    app.router.add_post("/api/pull", fake.pull)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield fake
    await runner.cleanup()


def test_the_default_pair_unless_named_and_all_means_every_ollama_pair():
    catalog = load_catalog(REPO_ROOT / "prompts")
    assert tags_to_pull(catalog, [], "qwen2.5-0.5b") == [
        "qwen2.5:0.5b-base",
        "qwen2.5:0.5b-instruct",
    ]
    every = tags_to_pull(catalog, ["all"], "qwen2.5-0.5b")
    assert len(every) == 2 * len(catalog.pairs) and "llama2:chat" in every
    with pytest.raises(PromptsError, match="Unknown pair `nope`"):
        tags_to_pull(catalog, ["nope"], "qwen2.5-0.5b")


async def test_only_missing_tags_are_pulled_with_coarse_progress(pull_fake: PullFake):
    lines: list[str] = []
    await pull_models(
        pull_fake.url, ["llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M"], 2.0, lines.append
    )
    assert pull_fake.pulled == ["llama3.2:1b-instruct-q4_K_M"]
    assert lines[0] == "llama3.2:1b-text-q4_K_M: already pulled"
    progress = [line for line in lines if "%" in line]
    assert progress[0].endswith(" 0%") and progress[-1].endswith(" 100%")
    assert len(progress) == 5  # quarters, not one line per chunk
    assert lines[-1] == "llama3.2:1b-instruct-q4_K_M: success"


async def test_a_tag_the_registry_lacks_fails_naming_it(pull_fake: PullFake):
    with pytest.raises(
        PullError,
        match=r"could not pull `nope:1b`: its registry has no such tag.*"
        r"\(pull model manifest: file does not exist\)",
    ):
        await pull_models(pull_fake.url, ["nope:1b"], 2.0, lambda _line: None)


async def test_ollama_down_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(BackendUnreachable, match="Cannot reach Ollama"):
        await pull_models(url, ["a:b"], 2.0, lambda _line: None)


async def test_the_command_the_cli_wires(
    pull_fake: PullFake, make_settings, capsys, tmp_path: Path
):
    parser = argparse.ArgumentParser(prog="twinbot")
    add_pull_command(parser.add_subparsers(dest="command", required=True))
    settings = make_settings(ollama_host=pull_fake.url)  # default pair: llama3.2-1b

    assert await run_pull_command(settings, parser.parse_args(["pull"])) == 0
    assert pull_fake.pulled == ["llama3.2:1b-instruct-q4_K_M"]
    assert "llama3.2:1b-instruct-q4_K_M: success" in capsys.readouterr().out


async def test_a_failed_pull_exits_1_not_2_and_names_the_cause(make_settings, capsys):
    # Ollama's fake without internet: /api/pull streams "pulling manifest", then an error line.
    async with OllamaFake(models={"llama3.2:1b-text-q4_K_M"}) as ollama:
        parser = argparse.ArgumentParser(prog="twinbot")
        add_pull_command(parser.add_subparsers(dest="command", required=True))
        settings = make_settings(ollama_host=ollama.url)  # default pair: llama3.2-1b
        assert await run_pull_command(settings, parser.parse_args(["pull"])) == 1
    err = capsys.readouterr().err
    assert "could not pull `llama3.2:1b-instruct-q4_K_M`: the Ollama server cannot reach" in err
    assert "registry.ollama.ai" in err


async def test_ollama_down_exits_1(make_settings, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    parser = argparse.ArgumentParser(prog="twinbot")
    add_pull_command(parser.add_subparsers(dest="command", required=True))
    settings = make_settings(ollama_host=url)
    assert await run_pull_command(settings, parser.parse_args(["pull"])) == 1
    assert "Cannot reach Ollama" in capsys.readouterr().err


def test_an_unknown_pair_is_bad_input_exit_2(make_settings, monkeypatch, capsys):
    from adapters.cli.main import EXIT_CANNOT_RUN, main

    monkeypatch.setenv("TWINBOT_PROMPTS_DIR", str(REPO_ROOT / "prompts"))
    assert main(["pull", "nope"]) == EXIT_CANNOT_RUN
    assert "Unknown pair `nope`" in capsys.readouterr().err
