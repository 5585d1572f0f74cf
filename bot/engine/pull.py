"""`twinbot pull`: fetch the Ollama models of the configured pairs that are not there yet.

The compose file runs it once before the bot starts, so a fresh install comes up with its twins.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import httpx
import ollama

from bot.config import Settings
from bot.domain import BackendKind
from bot.engine.backend import canonical_tag, normalize_host
from bot.engine.catalog import Catalog, load_catalog
from bot.errors import BackendError, BackendUnreachable

ALL = "all"
EXIT_PULL_FAILED = 1
# A download may pause between chunks (a slow mirror, a large layer being verified): generous
# per-read limit, but never none.
READ_TIMEOUT = 600.0


class PullError(BackendError):
    kind = "pull"


def tags_to_pull(catalog: Catalog, names: Sequence[str], default_pair: str) -> list[str]:
    """The Ollama tags of the named pairs (the default pair when none, every pair for `all`)."""
    if ALL in names:
        pairs = list(catalog.pairs.values())
    else:
        pairs = [catalog.pair(name) for name in (names or [default_pair])]
    tags = [
        tag
        for pair in pairs
        if pair.backend is BackendKind.OLLAMA
        for tag in (pair.base, pair.instruct)
    ]
    return list(dict.fromkeys(tags))


async def pull_models(
    host: str, tags: Sequence[str], connect_timeout: float, report: Callable[[str], None]
) -> None:
    """Pull each tag Ollama does not have yet, reporting progress a line at a time."""
    host = normalize_host(host)
    timeout = httpx.Timeout(READ_TIMEOUT, connect=connect_timeout)
    client = ollama.AsyncClient(host=host, timeout=timeout)
    try:
        try:
            present = {canonical_tag(m.model) for m in (await client.list()).models if m.model}
        except (ConnectionError, httpx.TransportError):
            raise BackendUnreachable(host) from None
        for tag in tags:
            if canonical_tag(tag) in present:
                report(f"{tag}: already pulled")
                continue
            report(f"{tag}: pulling")
            try:
                shown = ""
                async for progress in await client.pull(tag, stream=True):
                    step = _step(progress)
                    if step != shown:
                        report(f"{tag}: {step}")
                        shown = step
            except ollama.ResponseError as exc:
                raise PullError(pull_failure(tag, str(exc.error))) from None
            except (ConnectionError, httpx.TransportError):
                raise BackendUnreachable(host) from None
    finally:
        await client.close()  # type: ignore[no-untyped-call]  # untyped upstream


def pull_failure(tag: str, detail: str) -> str:
    """Why a pull failed, naming the cause Ollama's words point at."""
    if "registry.ollama.ai" in detail and any(
        words in detail
        for words in ("no such host", "dial tcp", "i/o timeout", "connection refused", "TLS")
    ):
        return (
            f"Ollama could not pull `{tag}`: the Ollama server cannot reach its registry "
            f"(registry.ollama.ai); give it internet access or copy the model in. ({detail})"
        )
    if "file does not exist" in detail or "manifest unknown" in detail:
        return (
            f"Ollama could not pull `{tag}`: its registry has no such tag; check the name at "
            f"https://ollama.com/library. ({detail})"
        )
    return f"Ollama could not pull `{tag}`: {detail}"


def _step(progress: ollama.ProgressResponse) -> str:
    """The status, with a download's progress in quarters so a log is not flooded."""
    status = progress.status or ""
    if progress.total and progress.completed is not None:
        return f"{status} {25 * (4 * progress.completed // progress.total)}%"
    return status


# --- the command line: the CLI calls these two ---------------------------------------------------


def add_pull_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pull = commands.add_parser(
        "pull", help="pull the Ollama models of a pair that are not pulled yet"
    )
    pull.add_argument(
        "pairs", nargs="*", metavar="PAIR", help="pair names (default: TWINBOT_DEFAULT_PAIR; all)"
    )


async def run_pull_command(settings: Settings, args: argparse.Namespace) -> int:
    catalog = load_catalog(settings.prompts_dir)
    tags = tags_to_pull(catalog, args.pairs, settings.default_pair)
    if not tags:
        print("twinbot: nothing to pull: those pairs are on OpenAI-compatible servers")
        return 0
    try:
        await pull_models(
            settings.ollama_host,
            tags,
            settings.connect_timeout,
            lambda line: print(line, flush=True),
        )
    except BackendError as exc:
        # A pull that fails is not bad input: exit 1, as a failed side (2 is input or settings).
        print(f"twinbot: {exc}", file=sys.stderr)
        return EXIT_PULL_FAILED
    return 0
