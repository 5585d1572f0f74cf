"""An installed wheel (not editable, not a checkout) runs `twinbot pairs` and `twinbot doctor`.

The wheel is built offline from a copy of what the Dockerfile copies, into a fresh virtualenv
without pip; the new environment sees the already-installed runtime dependencies through a .pth
line (not the editable twinbot, whose own .pth is only read in its own environment), so nothing
is downloaded.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from tests.fakes.ollama_fake import OllamaFake

SOURCES = ("pyproject.toml", "README.md", "bot", "adapters", "prompts")
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def run(*command: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=120, **kwargs
    )  # type: ignore[call-overload]
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin/ folder of a new virtualenv with the twinbot wheel installed into it."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    for name in SOURCES:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
        "-w", root / "dist", source)  # fmt: skip
    [wheel] = (root / "dist").glob("twinbot-*.whl")

    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    dependencies = sysconfig.get_paths()["purelib"]
    (Path(site.stdout.strip()) / "twinbot_test_deps.pth").write_text(dependencies + "\n")
    # Its dependencies resolve offline, within requirements.lock, to what is installed here.
    run(*pip, "--python", python, "install", "-q", "--no-index", "--constraint",
        REPO_ROOT / "requirements.lock", wheel)  # fmt: skip
    installed = {path.name for path in Path(site.stdout.strip()).iterdir()}
    assert installed - {"__pycache__"} == {
        "adapters", "bot", "prompts", "twinbot_test_deps.pth", f"twinbot-{VERSION}.dist-info"
    }  # fmt: skip
    yield venv / "bin"


def twinbot(bin_dir: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "COLUMNS": "160", **env}
    return subprocess.run(
        [str(bin_dir / "twinbot"), *args],
        capture_output=True, text=True, timeout=60, env=environment, cwd=cwd,
    )  # fmt: skip


async def in_thread(*args: object, **kwargs: str) -> subprocess.CompletedProcess[str]:
    # The fake Ollama runs on this test's event loop: the command must not block it.
    return await asyncio.to_thread(twinbot, *args, **kwargs)  # type: ignore[arg-type]


async def test_the_wheel_is_what_runs_not_the_checkout(installed: Path, tmp_path: Path):
    where = run(installed / "python", "-c", "import bot; print(bot.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(installed.parent)), where.stdout
    assert "site-packages" in where.stdout
    # Subpackages ship too: `twinbot run discord|slack` imports them.
    run(installed / "python", "-c", "import adapters.discord_bot, adapters.slack_app", cwd=tmp_path)


async def test_installed_pairs_and_doctor_use_the_built_in_prompts(
    installed: Path, tmp_path: Path, ollama: OllamaFake
):
    env = {"TWINBOT_OLLAMA_HOST": ollama.url, "TWINBOT_DATABASE_PATH": str(tmp_path / "db")}

    pairs = await in_thread(installed, "pairs", cwd=tmp_path, **env)
    assert pairs.returncode == 0, pairs.stderr
    assert "llama3.2-1b (default)" in pairs.stdout
    assert "pulled" in pairs.stdout and "Traceback" not in pairs.stderr

    doctor = await in_thread(installed, "doctor", cwd=tmp_path, **env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "ok   prompts:" in doctor.stdout and "(built in)" in doctor.stdout
    assert "site-packages" not in doctor.stdout


async def test_a_users_own_prompts_folder_overrides_file_by_file(
    installed: Path, tmp_path: Path, ollama: OllamaFake
):
    own = tmp_path / "my-prompts"
    own.mkdir()
    (own / "pairs.toml").write_text(
        '[[pair]]\nname = "mine"\nbase = "llama3.2:1b-text-q4_K_M"\n'
        'instruct = "llama3.2:1b-instruct-q4_K_M"\ndescription = "my own pair"\n'
    )
    env = {
        "TWINBOT_OLLAMA_HOST": ollama.url,
        "TWINBOT_DATABASE_PATH": str(tmp_path / "db"),
        "TWINBOT_PROMPTS_DIR": str(own),
        "TWINBOT_DEFAULT_PAIR": "mine",
    }

    pairs = await in_thread(installed, "pairs", cwd=tmp_path, **env)
    assert pairs.returncode == 0, pairs.stderr
    assert "mine (default)  my own pair" in pairs.stdout
    assert "llama3.2-1b " not in pairs.stdout  # the built-in pairs file is replaced whole

    doctor = await in_thread(installed, "doctor", cwd=tmp_path, **env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"pairs.toml from {own}, the rest built in" in doctor.stdout
