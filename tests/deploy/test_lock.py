"""requirements.lock pins exactly twinbot's runtime closure: every transitive dependency, no dev
tool, each at the version pyproject.toml's pins resolve to (scripts/lock regenerates it)."""

from __future__ import annotations

import importlib.metadata
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def closure(roots: list[Requirement]) -> dict[str, str]:
    """Every distribution the runtime needs, with the version installed here."""
    found: dict[str, str] = {}
    pending = list(roots)
    while pending:
        requirement = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        distribution = importlib.metadata.distribution(name)
        found[name] = distribution.version
        pending.extend(Requirement(text) for text in distribution.requires or ())
    return found


def test_every_pyproject_pin_is_locked_at_its_version():
    pins = locked()
    for requirement in runtime_requirements():
        [spec] = requirement.specifier
        assert spec.operator == "==", f"{requirement}: pin runtime dependencies with =="
        assert pins.get(canonicalize_name(requirement.name)) == spec.version, requirement


def test_the_lock_is_the_whole_runtime_closure_and_nothing_else():
    assert locked() == closure(runtime_requirements())
