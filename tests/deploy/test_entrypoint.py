"""deploy/entrypoint.sh starts what has a token, with a stand-in `twinbot` on PATH."""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import REPO_ROOT

ENTRYPOINT = REPO_ROOT / "deploy" / "entrypoint.sh"

# Logs how it was called. FAKE_AFTER_<platform>: first wait for that line in the log.
# FAKE_EXIT_<platform>: exit with that status; otherwise run until SIGTERM.
FAKE_TWINBOT = """#!/usr/bin/env bash
exec >/dev/null 2>&1  # a stray child never holds the test's pipes open
platform="${2:-none}"
echo "$*" >> "$FAKE_LOG"
after="FAKE_AFTER_$platform"
while [[ -n "${!after:-}" ]] && ! grep -qx "${!after}" "$FAKE_LOG"; do sleep 0.01; done
code="FAKE_EXIT_$platform"
if [[ -n "${!code:-}" || "$1" != run ]]; then exit "${!code:-0}"; fi
trap 'kill "$sleeper"; echo "$platform stopped" >> "$FAKE_LOG"; exit 143' TERM
echo "$platform running" >> "$FAKE_LOG"
while true; do sleep 5 & sleeper=$!; wait "$sleeper"; done
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "twinbot"
    fake.write_text(FAKE_TWINBOT)
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_LOG": str(tmp_path / "calls.log")}


def calls(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def entrypoint(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENTRYPOINT), *args], env={**env, **extra}, capture_output=True, text=True, timeout=30
    )


def test_a_discord_token_alone_runs_discord(env):
    result = entrypoint(env, "run", TWINBOT_DISCORD_TOKEN="x", FAKE_EXIT_discord="0")
    assert result.returncode == 0, result.stderr
    assert calls(env) == ["run discord"]


def test_a_slack_token_alone_runs_slack(env):
    result = entrypoint(env, TWINBOT_SLACK_BOT_TOKEN="xoxb-1", FAKE_EXIT_slack="0")
    assert result.returncode == 0, result.stderr
    assert calls(env) == ["run slack"]


def test_no_token_stops_with_a_line_naming_both_variables(env):
    result = entrypoint(env, "run", TWINBOT_DISCORD_TOKEN="")
    assert result.returncode == 2
    assert "TWINBOT_DISCORD_TOKEN" in result.stderr and "TWINBOT_SLACK_BOT_TOKEN" in result.stderr
    assert calls(env) == []


def test_with_both_tokens_one_stopping_stops_the_other_and_passes_its_status(env):
    result = entrypoint(
        env,
        "run",
        TWINBOT_DISCORD_TOKEN="x",
        TWINBOT_SLACK_BOT_TOKEN="y",
        FAKE_AFTER_discord="slack running",
        FAKE_EXIT_discord="3",
    )
    assert result.returncode == 3
    assert calls(env)[-1] == "slack stopped"


def test_sigterm_reaches_both_platforms(env):
    process = subprocess.Popen(
        [str(ENTRYPOINT)],
        env={**env, "TWINBOT_DISCORD_TOKEN": "x", "TWINBOT_SLACK_BOT_TOKEN": "y"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not {"discord running", "slack running"} <= set(calls(env)):
            assert time.monotonic() < deadline, f"platforms never started: {calls(env)}"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 143
    finally:
        if process.poll() is None:
            process.kill()
    assert {"discord stopped", "slack stopped"} <= set(calls(env))


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["pull"], "pull"), (["doctor"], "doctor"), (["run", "slack"], "run slack")],
)
def test_other_commands_pass_through_to_twinbot(env, args, expected):
    result = entrypoint(env, *args, FAKE_EXIT_slack="0")
    assert result.returncode == 0, result.stderr
    assert calls(env) == [expected]


def test_the_script_is_executable_in_the_checkout():
    assert os.access(ENTRYPOINT, os.X_OK)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # quiet
        pass


@contextlib.contextmanager
def ops_servers(*statuses: int) -> Iterator[int]:
    """Health servers on consecutive ports, as `run` lays them out; yields the first port."""
    for _ in range(50):
        servers = []
        try:
            first = socketserver.TCPServer(("127.0.0.1", 0), _Health, bind_and_activate=True)
            servers.append(first)
            base = first.server_address[1]
            for offset in range(1, len(statuses)):
                servers.append(socketserver.TCPServer(("127.0.0.1", base + offset), _Health))
        except OSError:  # the next port was taken: try another base
            for server in servers:
                server.server_close()
            continue
        break
    else:
        pytest.fail("no consecutive free ports")
    for server, status in zip(servers, statuses, strict=True):
        server.RequestHandlerClass = type("Handler", (_Health,), {"status": status})
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def health(env: dict[str, str], base: int, **tokens: str) -> subprocess.CompletedProcess[str]:
    return entrypoint(
        env, "healthcheck", TWINBOT_OPS_PORT=str(base), PYTHON=sys.executable, **tokens
    )


BOTH = {"TWINBOT_DISCORD_TOKEN": "x", "TWINBOT_SLACK_BOT_TOKEN": "y"}


def test_the_health_check_passes_when_every_platform_process_is_healthy(env):
    with ops_servers(200, 200) as base:
        result = health(env, base, **BOTH)
    assert result.returncode == 0, result.stderr
    assert calls(env) == []  # answered by the script itself, not passed to twinbot


def test_the_health_check_fails_when_the_second_platform_is_unhealthy(env):
    with ops_servers(200, 503) as base:
        result = health(env, base, **BOTH)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"twinbot: slack is unhealthy (http://127.0.0.1:{base + 1}/healthz)"
    )


def test_the_health_check_fails_when_a_platform_process_is_not_listening(env):
    with ops_servers(200) as base:  # nothing on base + 1
        result = health(env, base, **BOTH)
    assert result.returncode == 1 and "slack is unhealthy" in result.stderr
    with ops_servers(200) as base:
        alone = health(env, base, TWINBOT_SLACK_BOT_TOKEN="y")  # one platform: the first port
    assert alone.returncode == 0, alone.stderr
