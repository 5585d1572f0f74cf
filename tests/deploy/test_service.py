"""deploy/twinbot.service: a hardened unit, checked by systemd's own tools where they exist."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from bot.config import REPO_ROOT

UNIT = REPO_ROOT / "deploy" / "twinbot.service"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="no systemd-analyze here: the unit was not verified"
)


def directives() -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value (systemd allows a key more than once)."""
    parsed: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        parsed[section][key].append(value)
    return parsed


def test_restarts_on_failure_as_a_dedicated_user_with_an_environment_file():
    service = directives()["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["User"] == ["twinbot"] and service["Group"] == ["twinbot"]
    assert service["EnvironmentFile"] == ["/etc/twinbot/twinbot.env"]
    assert service["ExecStart"] == ["/opt/twinbot/deploy/entrypoint.sh run"]
    assert service["StateDirectory"] == ["twinbot"]
    assert "TWINBOT_DATABASE_PATH=/var/lib/twinbot/twinbot.sqlite3" in service["Environment"]
    assert directives()["Install"]["WantedBy"] == ["multi-user.target"]


def test_hardening_options_are_on():
    service = directives()["Service"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter": "@system-service",
    }.items():
        assert value in service[key], key


def test_no_secret_is_written_into_the_unit():
    text = UNIT.read_text()
    assert "TOKEN=" not in text and "SECRET=" not in text and "API_KEY=" not in text


@needs_systemd
def test_systemd_verifies_the_unit(tmp_path: Path):
    # verify checks that ExecStart exists: point it at this checkout instead of /opt/twinbot.
    unit = tmp_path / "twinbot.service"
    unit.write_text(UNIT.read_text().replace("/opt/twinbot", str(REPO_ROOT)))
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@needs_systemd
def test_systemds_exposure_score_is_low(tmp_path: Path):
    unit = tmp_path / "twinbot.service"
    unit.write_text(UNIT.read_text())
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in result.stderr:
        pytest.skip("this systemd-analyze has no offline security check")
    assert result.returncode == 0, result.stdout[-2000:]  # exposure at most 2.0 of 10
