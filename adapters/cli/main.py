"""The `twinbot` command (also `python -m adapters.cli`): parse, set up, dispatch."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from adapters.cli.output_paths import output_target
from adapters.cli.stats_view import print_stats
from adapters.cli.vocabularies import VOCABULARIES
from adapters.terminal import TerminalView
from bot.config import ConfigError, Settings, load_settings
from bot.domain import CompareRequest, CompareSnapshot, Requester, SideStatus
from bot.engine.compare import QuietView
from bot.engine.demos import Demo, find_demo, load_demos
from bot.engine.lens_record import StoredLens
from bot.engine.pull import add_pull_command, run_pull_command
from bot.engine.requests import build_request
from bot.errors import BackendError, InputError, TwinbotError
from bot.ops.logs import configure_logging, secrets_of
from bot.runtime import Runtime, open_runtime, open_store
from bot.store.backup import add_backup_commands, run_backup_command
from bot.store.sqlite import Store, VoteFilter, utc_iso
from bot.text.report import DemoResult, render_report
from bot.text.visible import show_controls
from bot.votes.export import ExportFormat
from bot.votes.leaderboard import Leaderboard, leaderboard_for
from bot.votes.periods import parse_moment

if TYPE_CHECKING:
    from bot.votes.export import Dataset, ExportOptions

EXIT_OK = 0
EXIT_SIDE_FAILED = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130
REPORT_LENS_TOP_K = 10  # next-token bars per twin in `demo --report --lens`

PLATFORMS = ("discord", "slack")  # `twinbot run PLATFORM`; wired in adapters/cli/wiring.py


def _version() -> str:
    try:
        return importlib.metadata.version("twinbot")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _framing_names() -> str:
    """Every framing the user can pick: their own prompts folder's, else the built-in ones."""
    from bot.engine.catalog import load_catalog
    from bot.engine.prompt_files import BUILTIN_PROMPTS_DIR

    try:
        folder = load_settings().prompts_dir
    except ConfigError:
        folder = BUILTIN_PROMPTS_DIR
    for directory in dict.fromkeys((folder, BUILTIN_PROMPTS_DIR)):
        try:
            return ", ".join(load_catalog(directory).framings)
        except TwinbotError:
            continue
    return "see prompts/framings.toml"


def _add_lens_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lens = commands.add_parser(
        "lens", help="the distributions behind both twins: next-token odds, samples, token shift"
    )
    lens.add_argument("prompt", nargs="?", help="the text both models get (or --demo)")
    lens.add_argument("--demo", help="take the prompt, framing and options of a demo")
    lens.add_argument("--pair", help="model pair (see `twinbot pairs`)")
    lens.add_argument("--framing", help=f"base-model framing: {_framing_names()}")
    lens.add_argument(
        "--top", type=int, default=10, help="how many likeliest tokens to show, 1 to 20 (10)"
    )
    where = lens.add_mutually_exclusive_group()
    where.add_argument(
        "--at", type=int, default=0, metavar="N",
        help="the odds after the first N tokens of each twin's own (greedy) answer",
    )  # fmt: skip
    where.add_argument(
        "--after", default="", metavar="TEXT",
        help="the odds after this text, the same start of an answer for both twins",
    )  # fmt: skip
    mode = lens.add_mutually_exclusive_group()
    mode.add_argument(
        "--samples", type=int, metavar="N",
        help="N answers per twin (at most 100): histogram, entropy, distance from uniform",
    )  # fmt: skip
    mode.add_argument(
        "--shift", action="store_true",
        help="rank each token of the instruct answer under the base twin (URIAL's token shift)",
    )  # fmt: skip
    lens.add_argument(
        "--max-tokens", type=int,
        help="tokens per sample (32), or answer tokens the shift scores (128, at most 512)",
    )  # fmt: skip
    lens.add_argument("--temperature", type=float, help="for --samples (1.0: the model's own)")
    lens.add_argument("--seed", type=int, help="first seed for --samples (each gets the next)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinbot",
        description="Send one prompt to a base model and its instruct twin, side by side.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at TWINBOT_LOG_LEVEL")
    parser.add_argument("--version", action="version", version=f"twinbot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compare = commands.add_parser("compare", help="compare both twins on one prompt, live")
    compare.add_argument("prompt", help="the text both models get")
    compare.add_argument("--pair", help="model pair (see `twinbot pairs`)")
    compare.add_argument("--framing", help=f"base-model framing: {_framing_names()}")
    compare.add_argument("--max-tokens", type=int, help="tokens per side (num_predict)")
    compare.add_argument("--temperature", type=float, help="sampling temperature, 0 to 2")
    compare.add_argument("--seed", type=int, help="sampling seed, the same on both sides")

    _add_lens_parser(commands)

    commands.add_parser("pairs", help="list model pairs and whether each tag is pulled")
    doctor = commands.add_parser(
        "doctor", help="check Ollama, the pairs, the database and the settings"
    )
    doctor.add_argument(
        "--measure",
        action="store_true",
        help="also time each side of the default pair alone, then both at once, and "
        "recommend num_thread and OLLAMA_NUM_PARALLEL",
    )
    doctor.add_argument(
        "--tokens", type=int, default=64, help="tokens per side when measuring (default 64)"
    )
    doctor.add_argument(
        "--cores",
        type=int,
        default=os.cpu_count() or 1,
        help="CPU cores of the Ollama host (default: this host's)",
    )

    stats = commands.add_parser("stats", help="the leaderboard: win rates and ratings from votes")
    _add_vote_filters(stats, blind_only=False)
    counted = stats.add_mutually_exclusive_group()
    counted.add_argument(
        "--blind-only", action="store_true", help="only votes cast blind (the default)"
    )
    counted.add_argument(
        "--all-votes", action="store_true", help="count votes cast with the names shown too"
    )
    stats.add_argument("--chart", metavar="FILE.png", help="also write the win-rate chart")

    export = commands.add_parser(
        "export", help="write the votes as a dataset: a folder of data files and a README.md card"
    )
    export.add_argument(
        "--format",
        required=True,
        choices=[f.value for f in ExportFormat],
        help="dpo, kto: TRL's rows as JSON lines; csv: one row per vote; parquet: all of them",
    )
    export.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="the folder to write, or - for the rows of the main config on standard output",
    )
    export.add_argument(
        "--max-votes-per-prompt",
        type=int,
        metavar="N",
        help="count at most N votes of one user on one prompt (the earliest)",
    )
    export.add_argument("--seed", type=int, default=0, help="the KTO rows' shuffle (default 0)")
    export.add_argument(
        "--include-withheld",
        action="store_true",
        help="also write text the safety gate withheld from the channel (rows flagged)",
    )
    _add_vote_filters(export)

    commands.add_parser("recompute-votes", help="rebuild every vote from the reaction log")

    add_backup_commands(commands)
    add_pull_command(commands)

    demo = commands.add_parser("demo", help="run a classic base-vs-instruct experiment")
    demo.add_argument("name", nargs="?", help="the experiment (omit to list them)")
    demo.add_argument("--pair", help="model pair (default: TWINBOT_DEFAULT_PAIR)")
    demo.add_argument("--report", metavar="FILE.html", help="run every experiment, write a page")
    demo.add_argument(
        "--lens",
        nargs="?",
        const="odds",
        choices=("odds", "shift", "samples"),
        help="with --report: a lens view of each experiment too (alone: the next-token bars)",
    )

    run = commands.add_parser("run", help="run the chat bot on a platform")
    run.add_argument("platform", choices=PLATFORMS)
    return parser


def _add_vote_filters(parser: argparse.ArgumentParser, *, blind_only: bool = True) -> None:
    parser.add_argument("--channel", help="only comparisons in this channel id")
    parser.add_argument("--pair", help="only this pair")
    parser.add_argument("--since", help="from this time: 2026-05-01, 2026-05-01T12:00, or 7d")
    parser.add_argument("--until", help="before this time (same forms)")
    if blind_only:
        parser.add_argument("--blind-only", action="store_true", help="only votes cast blind")


def _vote_filter(args: argparse.Namespace) -> VoteFilter:
    return VoteFilter(
        channel_id=args.channel,
        pair=args.pair,
        since=utc_iso(parse_moment(args.since)) if args.since else None,
        until=utc_iso(parse_moment(args.until)) if args.until else None,
        blind_only=args.blind_only,
    )


async def _known_pair(settings: Settings, store: Store, pair: str | None) -> None:
    """A --pair filter must name a pair: a typo would otherwise read as "no votes yet"."""
    if pair is None:
        return
    from bot.engine.catalog import load_catalog

    known = set(load_catalog(settings.prompts_dir).pairs) | await store.pair_names()
    if pair not in known:
        raise InputError(f"Unknown pair `{pair}`. Known pairs: {', '.join(sorted(known))}.")


async def _leaderboard(settings: Settings, where: VoteFilter, all_votes: bool) -> Leaderboard:
    async with await open_store(settings, VOCABULARIES) as store:
        await _known_pair(settings, store, where.pair)
        return await leaderboard_for(store, where, all_votes=all_votes)


def _stats(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    chart = output_target(args.chart, option="--chart") if args.chart else None
    # Blind or not is the leaderboard's to decide, so it can say how many it left out.
    where = dataclasses.replace(_vote_filter(args), blind_only=False)
    board = asyncio.run(_leaderboard(settings, where, args.all_votes))
    print_stats(console, board)
    if chart is not None:
        from bot.votes.chart import leaderboard_chart  # matplotlib loads slowly: only when asked

        chart.write_bytes(leaderboard_chart(board))
        console.print(f"chart written to {args.chart}", markup=False, highlight=False)
    return EXIT_OK


async def _build_dataset(settings: Settings, fmt: ExportFormat, options: ExportOptions) -> Dataset:
    from bot.votes.export import build_dataset

    async with await open_store(settings, VOCABULARIES) as store:
        await _known_pair(settings, store, options.where.pair)
        return await build_dataset(store, fmt, options)


def _export(settings: Settings, args: argparse.Namespace) -> int:
    # Only when asked: the other commands start without the dataset modules.
    from bot.votes.dataset_files import (
        PARQUET_NEEDS_FOLDER,
        check_folder,
        require_parquet,
        stdout_text,
        write_folder,
    )
    from bot.votes.export import ExportOptions

    fmt = ExportFormat(args.format)
    folder = output_target(args.output, option="-o", allow_stdout=True, is_folder=True)
    # Every check before the database is read: a bad folder or a missing pyarrow fails at once.
    if folder is None and fmt is ExportFormat.PARQUET:
        raise InputError(PARQUET_NEEDS_FOLDER)
    if folder is not None:
        check_folder(folder)
    if fmt is ExportFormat.PARQUET:
        require_parquet()
    if args.max_votes_per_prompt is not None and args.max_votes_per_prompt < 1:
        raise InputError("--max-votes-per-prompt must be at least 1.")
    options = ExportOptions(
        where=_vote_filter(args),
        cap=args.max_votes_per_prompt,
        seed=args.seed,
        include_withheld=args.include_withheld,
    )
    dataset = asyncio.run(_build_dataset(settings, fmt, options))
    if folder is None:
        sys.stdout.write(stdout_text(dataset))
        sys.stdout.flush()
        # The count goes to stderr, so the data on stdout stays clean for a pipe.
        main = dataset.configs[0]
        print(f"{len(main.rows)} {main.name} rows written to standard output", file=sys.stderr)
        return EXIT_OK
    if not write_folder(dataset, folder):
        print(f"nothing written: no row from the {dataset.source.votes} votes selected")
        return EXIT_OK
    for config in dataset.configs:
        flagged = sum(1 for row in config.rows if row.get("flags"))
        note = f" ({flagged} flagged)" if flagged else "" if config.rows else " (not written)"
        print(f"{config.name}: {len(config.rows)} rows{note}")
    print(f"dataset written to {folder} (README.md describes it)")
    return EXIT_OK


async def _recompute_votes(settings: Settings) -> int:
    async with await open_store(settings, VOCABULARIES) as store:
        count = await store.recompute_votes()
    print(f"{count} votes derived from the reaction log")
    return EXIT_OK


def _demo_request(
    settings: Settings, runtime: Runtime, demo: Demo, pair: str | None
) -> CompareRequest:
    return build_request(
        settings,
        runtime.catalog,
        Requester(platform="terminal", user_id="local"),
        demo.prompt,
        pair=pair,
        framing=demo.framing,
        max_tokens=min(demo.max_tokens, settings.max_tokens_limit),
        temperature=demo.temperature,
    )


async def _demo_lens(
    runtime: Runtime, final: CompareSnapshot, view: str
) -> tuple[StoredLens, str | None]:
    """The lens for a report: measured, stored with the comparison, and read back from the store
    (what the page shows is what is kept); or why there is none."""
    from bot.chat.command import CHAT_SAMPLES
    from bot.chat.lens_step import SHIFT_CHAT_TOKENS
    from bot.engine.lens_record import LensKind, record_view

    try:
        stored = await record_view(
            runtime.backend, runtime.store, final, LensKind(view), top_k=REPORT_LENS_TOP_K,
            samples=CHAT_SAMPLES, shift_tokens=SHIFT_CHAT_TOKENS,
        )  # fmt: skip
    except BackendError as exc:
        return StoredLens(), str(exc)
    return stored, None


async def _demo(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    if args.lens and not args.report:
        raise InputError("--lens goes with --report: the page shows each twin's bars.")
    report = output_target(args.report, option="--report") if args.report else None
    async with open_runtime(settings) as runtime:
        demos = load_demos(settings.prompts_dir, runtime.catalog)
        if report is not None:
            results = []
            for demo in demos.values():
                console.print(f"running {demo.name}: {demo.title}", markup=False, highlight=False)
                request = _demo_request(settings, runtime, demo, args.pair)
                final = await runtime.service.run(request, QuietView())
                tallies = await runtime.store.vote_tallies(
                    request.prompt, request.pair.name, request.framing.name
                )
                lens, note = (
                    await _demo_lens(runtime, final, args.lens)
                    if args.lens
                    else (StoredLens(), None)
                )
                results.append(
                    DemoResult(
                        demo, final, tallies, lens.next_token, note, lens.shift, lens.samples
                    )
                )
            page = render_report(results, results[0].snapshot.request.pair.name)
            await asyncio.to_thread(report.write_text, page, encoding="utf-8")
            console.print(f"report written to {args.report}", markup=False, highlight=False)
            return EXIT_OK
        if not args.name:
            for demo in demos.values():
                console.print(f"[bold]{demo.name}[/bold]  {demo.title}", highlight=False)
                console.print(f"    {demo.explain}", markup=False, highlight=False)
            return EXIT_OK
        demo = find_demo(demos, args.name)
        console.print(f"{demo.title}: {demo.explain}", markup=False, highlight=False)
        request = _demo_request(settings, runtime, demo, args.pair)
        view = TerminalView(console, settings.terminal_refresh_interval)
        final = await runtime.service.run(request, view)
    failed = [side for side in final.sides if side.status is SideStatus.FAILED]
    return EXIT_SIDE_FAILED if failed else EXIT_OK


async def _compare(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    async with open_runtime(settings) as runtime:
        request = build_request(
            settings,
            runtime.catalog,
            Requester(platform="terminal", user_id="local"),
            args.prompt,
            pair=args.pair,
            framing=args.framing,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            seed=args.seed,
        )
        view = TerminalView(console, settings.terminal_refresh_interval)
        final = await runtime.service.run(request, view)
    failed = [side for side in final.sides if side.status is SideStatus.FAILED]
    for message in dict.fromkeys(side.error or "" for side in failed):
        print(f"twinbot: {show_controls(message)}", file=sys.stderr)
    return EXIT_SIDE_FAILED if failed else EXIT_OK


async def _lens(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    from adapters.cli.lens_cli import run_lens

    return await run_lens(settings, args, console)


async def _pairs(settings: Settings, console: Console) -> int:
    from bot.engine.backend import canonical_tag
    from bot.ops.doctor import pull_status

    async with open_runtime(settings) as runtime:
        pulled, problem = await pull_status(runtime.backend)
        for pair in runtime.catalog.pairs.values():
            default = " (default)" if pair.name == settings.default_pair else ""
            console.print(f"[bold]{pair.name}[/bold]{default}  {pair.description}", highlight=False)
            for label, tag in (("base", pair.base), ("instruct", pair.instruct)):
                mark = (
                    "?"
                    if pulled is None
                    else ("pulled" if canonical_tag(tag) in pulled else "not pulled")
                )
                console.print(f"    {label:<8} {tag:<36} {mark}", markup=False, highlight=False)
    if problem:
        # The list above is only what the files say: whether a tag is pulled is unknown.
        print(f"twinbot: {problem}", file=sys.stderr)
        return EXIT_SIDE_FAILED
    return EXIT_OK


async def _doctor(settings: Settings, args: argparse.Namespace, console: Console) -> int:
    from adapters.cli.wiring import PLATFORM_CHECKS
    from bot.ops.doctor import run_checks

    results = await run_checks(settings, PLATFORM_CHECKS)
    for check in results:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        if check.ok and check.warning:
            mark = "[yellow]warn[/yellow]"
        # Details quote other programs' errors: never read them as rich markup.
        line = escape(f"{check.name}: {show_controls(check.detail)}")
        console.print(f"{mark} {line}", highlight=False, soft_wrap=True)  # one line, whole
        if (not check.ok or check.warning) and check.fix:
            console.print(f"       fix: {check.fix}", markup=False, highlight=False, soft_wrap=True)
    healthy = all(check.ok for check in results)
    if args.measure:
        if not healthy:
            console.print(
                "not measuring: fix the problems above first", highlight=False, soft_wrap=True
            )
            return EXIT_SIDE_FAILED
        try:
            await _measure(settings, args, console)
        except BackendError as exc:
            console.print(f"[red]FAIL[/red] measure: {exc}", highlight=False, soft_wrap=True)
            return EXIT_SIDE_FAILED
    return EXIT_OK if healthy else EXIT_SIDE_FAILED


async def _measure(settings: Settings, args: argparse.Namespace, console: Console) -> None:
    from bot.engine.catalog import load_catalog
    from bot.engine.measure import PROMPT, advise, measure, report
    from bot.runtime import make_backend

    if not 1 <= args.tokens <= settings.max_tokens_limit:
        raise InputError(f"--tokens must be between 1 and {settings.max_tokens_limit}.")
    if args.cores < 1:
        raise InputError("--cores must be at least 1.")
    catalog = load_catalog(settings.prompts_dir)
    request = build_request(
        settings,
        catalog,
        Requester(platform="terminal", user_id="doctor"),
        PROMPT,
        framing="raw",
        max_tokens=args.tokens,
        temperature=0.0,
        seed=1,
    )
    console.print(
        f"measuring {request.pair.name}: {args.tokens} tokens a side, each alone, then both",
        markup=False,
        highlight=False,
    )
    backend = make_backend(settings, catalog)
    try:
        measured = await measure(backend, request)
    finally:
        await backend.close()
    # soft_wrap: one figure or piece of advice a line, whole, for an operator to grep or copy.
    for line in report(measured, request):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    advice = advise(measured, args.cores, request.options.num_thread)
    for line in advice.lines:
        console.print(f"advice: {line}", markup=False, highlight=False, soft_wrap=True)


async def _run_platform(settings: Settings, platform: str) -> int:
    from adapters.cli.wiring import PLATFORM_RUNNERS

    return await PLATFORM_RUNNERS[platform](settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"twinbot: configuration: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    chat_bot = args.command == "run"
    # In the terminal the user reads our own lines; operators of a chat bot read the log.
    configure_logging(
        settings.log_level if (chat_bot or args.verbose) else "ERROR", secrets_of(settings)
    )
    try:
        if args.command == "compare":
            return asyncio.run(_compare(settings, args, console))
        if args.command == "pairs":
            return asyncio.run(_pairs(settings, console))
        if args.command == "lens":
            return asyncio.run(_lens(settings, args, console))
        if args.command == "doctor":
            return asyncio.run(_doctor(settings, args, console))
        if args.command == "stats":
            return _stats(settings, args, console)
        if args.command == "export":
            return _export(settings, args)
        if args.command in ("backup", "restore"):
            return run_backup_command(settings, args)
        if args.command == "pull":
            return asyncio.run(run_pull_command(settings, args))
        if args.command == "demo":
            return asyncio.run(_demo(settings, args, console))
        if args.command == "recompute-votes":
            return asyncio.run(_recompute_votes(settings))
        return asyncio.run(_run_platform(settings, args.platform))
    except TwinbotError as exc:
        print(f"twinbot: {show_controls(str(exc))}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except OSError as exc:
        # Checked paths can still fail (a full disk, a folder removed meanwhile): one line.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"twinbot: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        if args.command == "lens":  # the lens stores nothing: say so rather than "saved"
            print("twinbot: lens interrupted; no more requests were sent.", file=sys.stderr)
            return EXIT_INTERRUPTED
        print("twinbot: interrupted; what the models wrote so far is saved.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
