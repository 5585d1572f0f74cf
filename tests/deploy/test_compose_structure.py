"""deploy/compose.yaml read as YAML: the checks that need no Compose client, so they always run."""

from __future__ import annotations

from typing import Any

import yaml

from bot.config import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / name).read_text())
    assert isinstance(document, dict)
    return document


def test_ollama_keeps_both_twins_loaded_with_models_on_a_volume():
    ollama = load("compose.yaml")["services"]["ollama"]
    assert ollama["image"].startswith("ollama/ollama:")
    assert {"OLLAMA_MAX_LOADED_MODELS", "OLLAMA_NUM_PARALLEL"} <= ollama["environment"].keys()
    assert any(volume.endswith(":/root/.ollama") for volume in ollama["volumes"])
    assert "healthcheck" in ollama


def test_the_bot_starts_only_after_the_pair_is_pulled():
    services = load("compose.yaml")["services"]
    assert services["pull-models"]["command"] == ["pull"]
    waits = services["twinbot"]["depends_on"]
    assert waits["pull-models"]["condition"] == "service_completed_successfully"
    assert waits["ollama"]["condition"] == "service_healthy"


def test_no_secret_is_written_into_the_compose_files():
    for name in ("compose.yaml", "compose.gpu.yaml"):
        text = (DEPLOY / name).read_text()
        for secret in ("TWINBOT_DISCORD_TOKEN", "TWINBOT_SLACK_BOT_TOKEN", "xoxb-", "xapp-"):
            assert secret not in text, f"{name} mentions {secret}: secrets belong in .env"


def test_the_gpu_overlay_only_adds_devices_to_ollama():
    overlay = load("compose.gpu.yaml")["services"]
    assert set(overlay) == {"ollama"}
    devices = overlay["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_metrics_are_reachable_on_the_compose_network_by_a_prometheus_beside_it():
    twinbot = load("compose.yaml")["services"]["twinbot"]
    environment = {**load("compose.yaml")["x-twinbot"]["environment"]}
    assert environment["TWINBOT_OPS_HOST"] == "0.0.0.0"  # not loopback: other containers ask
    base = int(environment["TWINBOT_OPS_PORT"])
    exposed = {int(port) for port in twinbot["expose"]}
    assert exposed == {base, base + 1}  # one port per platform process (entrypoint.sh)
    assert not any(str(base) in str(mapping) for mapping in twinbot.get("ports", []))

    overlay = load("compose.monitoring.yaml")["services"]
    assert set(overlay) == {"prometheus"}
    assert "./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in overlay["prometheus"]["volumes"]
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    [job] = scrape["scrape_configs"]
    [targets] = job["static_configs"]
    assert set(targets["targets"]) == {f"twinbot:{port}" for port in exposed}
    assert job.get("metrics_path", "/metrics") == "/metrics"


def test_no_secret_is_written_into_the_monitoring_overlay():
    for name in ("compose.monitoring.yaml", "prometheus.yml"):
        text = (DEPLOY / name).read_text()
        assert "TOKEN" not in text and "xoxb-" not in text
