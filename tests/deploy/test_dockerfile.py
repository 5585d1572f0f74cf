"""deploy/Dockerfile and .dockerignore, read as text: no engine is needed to hold them to the issue.

(Building the image needs a Docker engine, which CI does not have: docs/operating.md says how
to build and smoke-test it on a machine that does.)
"""

from __future__ import annotations

import fnmatch
import re
import shlex

from bot.config import REPO_ROOT

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern in .dockerignore decides."""
    verdict = False
    for raw in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(parts[-1], pattern) for p in prefixes
        ):
            verdict = not negate
    return verdict


def test_the_image_is_multi_stage_and_runs_as_a_dedicated_user():
    assert sum(keyword == "FROM" for keyword, _ in instructions()) >= 2
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")


def test_the_database_lives_on_a_volume():
    stage = final_stage()
    assert ("VOLUME", '["/data"]') in stage
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert "TWINBOT_DATABASE_PATH=/data/" in env
    # The built-in prompts are in the installed package (tests/deploy/test_wheel_install.py).
    assert "TWINBOT_PROMPTS_DIR" not in env


def test_dependencies_are_exactly_the_lock_and_twinbot_adds_none():
    runs = [args for keyword, args in instructions() if keyword == "RUN"]
    assert any("pip install --requirement requirements.lock" in args for args in runs)
    install = next(args for args in runs if "pip install --no-deps ." in args)
    assert "pip check" in install  # the lock and pyproject.toml's pins agree, or no image
    assert not any(re.search(r"\[dev\]|scripts/setup|pytest|mypy|ruff", args) for args in runs)


def test_there_is_a_healthcheck_and_the_entry_script():
    stage = dict(final_stage())
    # The entry script asks /healthz of every platform process it starts (test_entrypoint.py).
    assert stage["HEALTHCHECK"].endswith('CMD ["twinbot-entrypoint", "healthcheck"]')
    assert stage["ENTRYPOINT"] == '["twinbot-entrypoint"]'


def test_no_secret_is_baked_in():
    for keyword, args in instructions():
        if keyword in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"TOKEN|SECRET|PASSWORD|API_KEY", args), args


def test_every_copied_path_exists_and_reaches_the_build_context():
    for keyword, args in instructions():
        if keyword != "COPY" or args.startswith("--from"):
            continue
        *sources, _target = shlex.split(args)
        for source in sources:
            assert (REPO_ROOT / source).exists(), source
            assert not ignored(source), f"{source} is excluded by .dockerignore"


def test_the_build_context_never_holds_secrets_or_databases():
    for path in (".env", "deploy/.env", "twinbot.sqlite3", "data/twinbot.sqlite3-wal", ".git"):
        assert ignored(path), path
    assert not ignored("bot/migrations/001_comparisons.sql")
