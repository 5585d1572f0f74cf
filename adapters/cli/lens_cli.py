"""`twinbot lens`: read the options, run one view of the lens, print it with its cost.

Each view is bounded (top-k ≤ 20, samples ≤ 100, the shift's answer ≤ 512 tokens) and
cancellable: Ctrl-C cancels what is in flight and sends nothing more. A server or model that
cannot give what the view needs is one line on stderr naming why, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from rich.console import Console

from bot.config import Settings
from bot.domain import CompareRequest, Requester
from bot.engine.catalog import load_catalog
from bot.engine.demos import find_demo, load_demos
from bot.engine.requests import build_request
from bot.errors import BackendError, InputError
from bot.text.visible import show_controls

EXIT_OK = 0
EXIT_SIDE_FAILED = 1


def _request(settings: Settings, args: argparse.Namespace) -> CompareRequest:
    catalog = load_catalog(settings.prompts_dir)
    options: dict[str, Any] = {"pair": args.pair, "framing": args.framing}
    prompt = args.prompt
    if args.demo:
        demo = find_demo(load_demos(settings.prompts_dir, catalog), args.demo)
        prompt = prompt or demo.prompt
        options["framing"] = args.framing or demo.framing
        options["max_tokens"], options["temperature"] = demo.max_tokens, demo.temperature
    if not prompt:
        raise InputError("Give a prompt, or --demo NAME (see `twinbot demo`).")
    if args.samples is not None:
        from bot.engine.lens_samples import SAMPLE_TEMPERATURE, SAMPLE_TOKENS

        options["max_tokens"] = args.max_tokens or options.get("max_tokens") or SAMPLE_TOKENS
        if args.temperature is not None:
            options["temperature"] = args.temperature
        options.setdefault("temperature", SAMPLE_TEMPERATURE)
        options["seed"] = args.seed
    # The same checks as a comparison's prompt, pair, framing and options.
    return build_request(
        settings, catalog, Requester(platform="terminal", user_id="local"), prompt, **options
    )


def _check(args: argparse.Namespace) -> None:
    from bot.engine.lens import check_at, check_top_k
    from bot.engine.lens_samples import check_samples
    from bot.engine.lens_shift import check_shift_tokens

    check_top_k(args.top)
    check_at(args.at)
    if args.samples is not None:
        check_samples(args.samples)
    if (args.samples is not None or args.shift) and (args.at or args.after):
        raise InputError("--at and --after choose a position for the next-token odds only.")
    if args.shift and args.max_tokens is not None:
        check_shift_tokens(args.max_tokens)


async def run_lens(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    from bot.runtime import make_backend

    _check(args)
    request = _request(settings, args)
    backend = make_backend(settings, load_catalog(settings.prompts_dir))
    started = time.perf_counter()
    try:
        view, requests = await _run_view(settings, args, request, backend, console)
    except BackendError as exc:
        # As `compare` does: the server failed (or cannot do it), not the user's input.
        print(f"twinbot: {show_controls(str(exc))}", file=sys.stderr)
        return EXIT_SIDE_FAILED
    finally:
        await backend.close()
    seconds = time.perf_counter() - started
    console.print(view)
    console.print(f"cost: {requests} requests, {seconds:.2f} s", style="dim", highlight=False)
    return EXIT_OK


async def _run_view(
    settings: Settings,
    args: argparse.Namespace,
    request: CompareRequest,
    backend: Any,
    console: Console,
) -> tuple[Any, int]:
    """The rendered view and the requests it took."""
    from adapters.cli import lens_view

    if args.samples is not None:
        from bot.engine.lens_samples import sample_both

        with console.status("sampling…") as status:

            def progress(done: int, total: int) -> None:
                status.update(f"sampling… {done}/{total}")

            run = await sample_both(
                backend, request, args.samples, parallel=settings.max_running,
                on_progress=progress,
            )  # fmt: skip
        return lens_view.samples_view(request.prompt, request.framed_prompt, run), run.requests
    if args.shift:
        from bot.engine.lens_shift import DEFAULT_SHIFT_TOKENS, token_shift

        with console.status("answering…") as status:

            def scored(done: int, total: int) -> None:
                status.update(f"scoring token {done}/{total} under the base twin…")

            report = await token_shift(
                backend, request.pair, request.prompt,
                max_tokens=args.max_tokens or DEFAULT_SHIFT_TOKENS, on_progress=scored,
            )  # fmt: skip
        return lens_view.shift_view(request.prompt, report), report.requests
    from bot.engine.lens import next_token_distribution

    sides = await next_token_distribution(
        backend, request.pair, request.framing, request.prompt, args.top,
        at=args.at, after=args.after,
    )  # fmt: skip
    requests = 2 + (1 if args.after else 0)  # a side each, and the template for --after
    return lens_view.lens_view(request.prompt, request.framed_prompt, sides), requests
