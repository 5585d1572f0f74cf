"""deploy/compose.yaml, validated by Docker Compose itself where a v2 client is installed.

`docker compose config` needs no engine, only the client: it resolves the file, the overlay,
`.env` interpolation and the env_file, and prints the model Docker would run. Where no
Compose v2 client is present these tests skip and say so (`pytest -rs` prints the reason).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def compose_command() -> list[str] | None:
    """`docker compose` (the plugin) or a `docker-compose` v2 binary, if one is installed."""
    # The venv's bin too: a dev dependency may ship the binary there.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    candidates = []
    if docker := shutil.which("docker", path=path):
        candidates.append([docker, "compose"])
    if standalone := shutil.which("docker-compose", path=path):
        candidates.append([standalone])
    for command in candidates:
        try:
            version = subprocess.run(
                [*command, "version"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        # Compose v1 (Debian's docker-compose 1.29) cannot read the compose spec's env_file form.
        if version.returncode == 0 and " v2." in version.stdout:
            return command
    return None


COMPOSE = compose_command()
needs_compose = pytest.mark.skipif(
    COMPOSE is None,
    reason="no Docker Compose v2 client here (neither `docker compose` nor a v2 "
    "`docker-compose`): compose.yaml was not validated",
)


def run_config(project: Path, *files: str) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    args = [f"--file={DEPLOY / name}" for name in files or ("compose.yaml",)]
    return subprocess.run(
        [*COMPOSE, *args, f"--project-directory={project}", "config", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(project)},
    )


def config(project: Path, *files: str) -> dict[str, Any]:
    result = run_config(project, *files)
    # Judged by the output, not only the status: some packaged wrappers drop the exit code.
    assert result.returncode == 0 and result.stdout.startswith("{"), result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with its own .env, as deploy/ has on a server."""
    (tmp_path / ".env").write_text(
        "TWINBOT_DISCORD_TOKEN=discord-token\n"
        "TWINBOT_OLLAMA_HOST=http://127.0.0.1:11434\n"  # copied from .env.example: must not win
        "TWINBOT_DEFAULT_PAIR=qwen2.5-0.5b\n"
        "OLLAMA_NUM_PARALLEL=4\n"
    )
    return tmp_path


@needs_compose
def test_compose_file_is_valid_with_the_three_services(project: Path):
    assert set(config(project)["services"]) == {"ollama", "pull-models", "twinbot"}


@needs_compose
def test_without_a_dot_env_compose_says_so_before_starting_anything(tmp_path: Path):
    result = run_config(tmp_path)
    assert not result.stdout.startswith("{")
    assert f"{tmp_path}/.env" in result.stderr


@needs_compose
def test_the_pair_is_pulled_before_the_bot_starts(project: Path):
    services = config(project)["services"]
    assert services["pull-models"]["command"] == ["pull"]
    assert services["pull-models"]["restart"] == "no"
    assert services["pull-models"]["depends_on"]["ollama"]["condition"] == "service_healthy"
    twinbot = services["twinbot"]
    assert twinbot["depends_on"]["pull-models"]["condition"] == "service_completed_successfully"
    assert twinbot["command"] == ["run"]  # the entry script picks platforms by token
    assert twinbot["restart"] == "unless-stopped"


@needs_compose
def test_both_twins_stay_loaded_in_ollama(project: Path):
    ollama = config(project)["services"]["ollama"]
    assert ollama["image"].startswith("ollama/ollama:")
    assert int(ollama["environment"]["OLLAMA_MAX_LOADED_MODELS"]) >= 2
    assert ollama["environment"]["OLLAMA_NUM_PARALLEL"] == "4"  # from .env
    assert [v["target"] for v in ollama["volumes"] if v["type"] == "volume"] == ["/root/.ollama"]
    assert "ports" not in ollama


@needs_compose
def test_tokens_come_from_dot_env_and_compose_fixes_the_addresses(project: Path):
    for name in ("pull-models", "twinbot"):
        service = config(project)["services"][name]
        environment = service["environment"]
        assert environment["TWINBOT_DISCORD_TOKEN"] == "discord-token"
        assert environment["TWINBOT_DEFAULT_PAIR"] == "qwen2.5-0.5b"
        assert environment["TWINBOT_OLLAMA_HOST"] == "http://ollama:11434"
        assert environment["TWINBOT_DATABASE_PATH"] == "/data/twinbot.sqlite3"
        [volume] = service["volumes"]
        assert (volume["type"], volume["source"], volume["target"]) == (
            "volume",
            "twinbot-data",
            "/data",
        )
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"


@needs_compose
def test_slack_http_port_is_published_on_loopback_only_by_default(project: Path):
    [port] = config(project)["services"]["twinbot"]["ports"]
    assert (port["host_ip"], str(port["published"]), port["target"]) == ("127.0.0.1", "3000", 3000)


@needs_compose
def test_the_gpu_overlay_reserves_nvidia_gpus_for_ollama(project: Path):
    services = config(project, "compose.yaml", "compose.gpu.yaml")["services"]
    [device] = services["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "deploy" not in services["twinbot"]


@needs_compose
def test_the_monitoring_overlay_adds_a_prometheus_on_the_same_network(project: Path):
    services = config(project, "compose.yaml", "compose.monitoring.yaml")["services"]
    prometheus = services["prometheus"]
    assert set(prometheus["networks"]) == set(services["twinbot"]["networks"])
    assert services["twinbot"]["environment"]["TWINBOT_OPS_HOST"] == "0.0.0.0"
    [port] = prometheus["ports"]
    assert (port["host_ip"], port["target"]) == ("127.0.0.1", 9090)


def test_the_compose_file_names_no_secret():
    text = (DEPLOY / "compose.yaml").read_text()
    for secret in ("TWINBOT_DISCORD_TOKEN", "TWINBOT_SLACK_BOT_TOKEN", "SIGNING_SECRET", "API_KEY"):
        assert secret not in text, f"{secret} belongs in .env, not in compose.yaml"
