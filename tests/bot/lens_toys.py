"""Toy twins for the lens tests: the fake Ollama's toy models, a base model spreading its mass
over numbers and an instruct twin that says "Sure! 7"; the base twin reading the instruct twin's
chat ranks its "Sure" third and its " 7" beyond the 20 Ollama lists."""

from __future__ import annotations

import asyncio
import math
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.config import REPO_ROOT
from bot.engine.backend import OllamaBackend, Timeouts
from tests.conftest import SMALL_PAIR
from tests.ctrl_c import as_from_a_terminal
from tests.fakes.ollama_fake import CHATML_TEMPLATE, END_OF_TEXT, OllamaFake, Script, suffix_model

BASE, INSTRUCT = SMALL_PAIR
PROMPT = "Pick a number from 1 to 10:"
CHAT = f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n"
ln = math.log

# Beyond the 20 listed: " 7" is the 23rd of these.
NOT_SEVEN = [(f" x{n}", ln(0.04)) for n in range(22)] + [(" 7", ln(0.01))]

INSTRUCT_MODEL = suffix_model(
    {
        "assistant\n": [("Sure", ln(0.7)), ("7", ln(0.2)), ("I", ln(0.1))],
        "assistant\nSure": [("!", ln(0.9)), (",", ln(0.1))],
        "assistant\nSure!": [(" 7", ln(0.8)), (" 3", ln(0.2))],
    }
)
BASE_MODEL = suffix_model(
    {
        # Raw, after the prompt: nearly uniform over the numbers.
        "to 10:": [(f" {n}", ln(0.1)) for n in (7, 3, 5, 1, 2, 4, 6, 8, 9, 10)],
        " 7": [("\n", ln(0.5)), (".", ln(0.3)), (END_OF_TEXT, ln(0.2))],
        "Sure": [("!", ln(0.4)), (",", ln(0.35)), (".", ln(0.25))],
        # Reading the instruct twin's chat (the token shift).
        "assistant\n": [("7", ln(0.3)), ("I", ln(0.25)), ("Sure", ln(0.2)), ("Here", ln(0.1))],
        "assistant\nSure": [("!", ln(0.5)), (",", ln(0.3))],
        "assistant\nSure!": NOT_SEVEN,
    }
)


def script_twins(fake: OllamaFake) -> None:
    fake.templates[INSTRUCT] = CHATML_TEMPLATE
    fake.script(BASE, Script(next_token=BASE_MODEL))
    fake.script(INSTRUCT, Script(next_token=INSTRUCT_MODEL))


def prompts_with_engine_pair(tmp_path: Path, endpoint: str) -> Path:
    """The built-in prompts plus a pair `engine` served by the OpenAI-compatible `endpoint`."""
    prompts = tmp_path / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", prompts)
    with (prompts / "pairs.toml").open("a") as pairs:
        pairs.write(
            f'\n[[pair]]\nname = "engine"\nbackend = "openai"\nbase = "{BASE}"\n'
            f'instruct = "{INSTRUCT}"\nendpoint = "{endpoint}"\n'
        )
    return prompts


@asynccontextmanager
async def toy_backend(ollama: OllamaFake) -> AsyncIterator[OllamaBackend]:
    """A backend on the fake Ollama playing the toy twins."""
    script_twins(ollama)
    backend = OllamaBackend(ollama.url, Timeouts(connect=5, first_token=30, total=60))
    try:
        yield backend
    finally:
        await backend.close()


async def start_lens(
    ollama: OllamaFake, tmp_path: Path, *args: str, **env: str
) -> asyncio.subprocess.Process:
    """`twinbot lens ARGS` in its own process, for a test that interrupts it."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", "lens", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "TWINBOT_OLLAMA_HOST": ollama.url,
             "TWINBOT_DATABASE_PATH": str(tmp_path / "l.sqlite3"), **env},
        preexec_fn=as_from_a_terminal,
    )  # fmt: skip
