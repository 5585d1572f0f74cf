"""The dataset card: README.md with the YAML front matter the Hub and `datasets` read (the
configs, their files and their features), then what a researcher needs in prose: which config
to train on for what, how votes became rows, every field, and the counts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.votes.dataset_rows import FLAGS
from bot.votes.dataset_schema import features_yaml

if TYPE_CHECKING:
    from bot.votes.export import Dataset

# Marks a folder as twinbot's own export, which a later export may replace.
MARKER = "<!-- written by `twinbot export`; a later export into this folder replaces it -->"

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./*-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _lines(value: Any, indent: int) -> list[str]:
    """Block-style YAML for dicts, lists and scalars (all the front matter needs)."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{key}:")
                out.extend(_lines(item, indent + 2))
            else:
                out.append(f"{pad}{key}: {_inline(item)}")
        return out
    for item in value:
        if isinstance(item, dict | list) and item:
            nested = _lines(item, indent + 2)
            out.append(f"{pad}- {nested[0][indent + 2 :]}")
            out.extend(nested[1:])
        else:
            out.append(f"{pad}- {_inline(item)}")
    return out


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def yaml_text(value: dict[str, Any]) -> str:
    return "\n".join(_lines(value, 0)) + "\n"


def front_matter(dataset: Dataset, paths: list[str]) -> dict[str, Any]:
    configs, infos = [], []
    for index, (config, path) in enumerate(zip(dataset.written, paths, strict=True)):
        entry: dict[str, Any] = {"config_name": config.name}
        if index == 0:
            entry["default"] = True
        entry["data_files"] = [{"split": "train", "path": path}]
        configs.append(entry)
        infos.append(
            {
                "config_name": config.name,
                "features": features_yaml(config.schema),
            }
        )
    names = {config.name for config in dataset.written}
    tags = ["twinbot", "preference", "human-feedback", "trl"]
    tags += [kind for kind in ("dpo", "kto") if kind in names]
    return {
        "pretty_name": "twinbot base vs instruct votes",
        "tags": tags,
        "configs": configs,
        "dataset_info": infos,
    }


_USES = {
    "dpo": (
        "preference, conversational",
        "DPO on a chat model: the prompt is the one user message the instruct model got; the "
        "trainer applies the chat template of the model it trains.",
    ),
    "dpo_framed": (
        "preference, standard",
        "DPO on a base model, no chat template: the prompt is the framed prompt, the exact "
        "text the base model continued, and each text is appended to it as it is.",
    ),
    "kto": (
        "unpaired preference, conversational",
        'KTO on a chat model. Rows with `role == "instruct"` are exactly what the instruct '
        "model saw.",
    ),
    "kto_framed": (
        "unpaired preference, standard",
        'KTO on a base model, no chat template. Rows with `role == "base"` are exactly what '
        "the base model saw.",
    ),
    "votes": (
        "one row per vote (not a TRL format)",
        "Analysis: position bias, agreement between voters, votes over time. Every vote the "
        "filters selected (the per-prompt cap does not apply here).",
    ),
}

_FIELDS = (
    ("prompt", "`dpo`, `kto`: `[{role: user, content}]`; `*_framed`: the framed prompt"),
    (
        "chosen, rejected",
        "DPO: the winner's text and the other side's (assistant messages, or "
        "strings in `dpo_framed`)",
    ),
    ("chosen_role, chosen_model, rejected_model", "DPO: which side won, and the two tags"),
    ("completion, label", "KTO: one side's text and whether it was judged desirable"),
    ("role, model", "KTO: the side (`base` or `instruct`) that wrote the completion, its tag"),
    ("comparison_id, created_at, platform", "the comparison, when it ran (UTC), where"),
    ("pair, base_model, instruct_model", "the model pair and its two Ollama tags"),
    ("framing", "how the user's prompt was framed for the base model (`raw`, `qa`, ...)"),
    ("user_prompt", "the prompt as the user typed it"),
    ("framed_prompt", "what the base model continued"),
    ("stop", "the stop sequences both sides ran with"),
    ("options", "`max_tokens` (num_predict), `temperature`, `seed`: the same on both sides"),
    ("blind", "the sides were shown as A and B without names"),
    ("shown_first", "the side shown first (as A): for position bias"),
    ("base_/instruct_done_reason", "`stop`, or `length` when the token limit cut the text"),
    ("base_/instruct_tokens, _prompt_tokens", "tokens generated, tokens of the prompt"),
    (
        "base_/instruct_safety",
        "the safety gate's verdict (`clear`, `unsafe`, `unavailable`), "
        "null where the channel had no gate",
    ),
    (
        "votes",
        "each vote counted: `choice`, `blind` (cast before the names were revealed), "
        "`voted_at` (UTC), `by_requester` (the voter asked for the comparison)",
    ),
    ("vote_counts", "how many counted votes chose each of the four choices"),
    ("requester_voted", "the user who asked for the comparison voted on it"),
    (
        "lens",
        "the comparison's stored lens views (`/compare` with the lens): `kind` and its "
        "`payload` as JSON (see docs/lens.md)",
    ),
    ("flags", "what makes the row doubtful as training data; see Flags"),
)

_FLAG_TEXT = {
    "duplicate": "the same training fields (prompt and texts) as an earlier row of the config",
    "empty": "a text of the row is empty or only whitespace",
    "truncated": "a side of the row stopped at the token limit (done_reason `length`)",
    "identical": "both models wrote the same text: a DPO pair with nothing to learn",
    "withheld": "the safety gate showed a side of the comparison to no one, so the votes were "
    "cast without seeing it; the withheld text itself is written only with `--include-withheld`",
}


def _config_table(dataset: Dataset) -> list[str]:
    lines = ["| config | rows | TRL type and format | use it for |", "|---|---|---|---|"]
    for config in dataset.configs:
        kind, use = _USES[config.name]
        rows = len(config.rows) or "none: not written"
        lines.append(f"| `{config.name}` | {rows} | {kind} | {use} |")
    return lines


def _counts(dataset: Dataset) -> list[str]:
    source, options = dataset.source, dataset.options
    lines = [
        f"- Votes selected: {source.votes}; comparisons with both outputs complete and a vote: "
        f"{len(source.items)}; voted comparisons left out because a side did not complete: "
        f"{source.incomplete}.",
    ]
    if options.cap is not None:
        lines.append(
            f"- At most {options.cap} vote(s) of one user on one prompt count (the earliest); "
            f"{source.capped} vote(s) left out by that cap."
        )
    trained = [c for c in dataset.configs if c.name != "votes"]
    if trained:
        lines.append("")
        lines.append("| config | rows | " + " | ".join(f.value for f in FLAGS) + " | left out: "
                     "withheld |")  # fmt: skip
        lines.append("|---" * (len(FLAGS) + 3) + "|")
        for config in trained:
            flags = config.flag_counts
            cells = " | ".join(str(flags[f.value]) for f in FLAGS)
            lines.append(
                f"| `{config.name}` | {len(config.rows)} | {cells} | {config.withheld_left_out} |"
            )
    order = dataset.kto_order
    if order is not None:
        lines.append("")
        lines.append(
            f"- KTO rows are shuffled with seed {options.seed} (`--seed`): neighbouring rows "
            f"of the same prompt went from {order.neighbours_before} to "
            f"{order.neighbours_after}. Rows whose KL completion comes from their own prompt, "
            "per `per_device_train_batch_size`: "
            + ", ".join(f"{size}: {n}" for size, n in order.kl_matches_after.items())
            + "."
        )
    return lines


def _filters(dataset: Dataset) -> str:
    where = dataset.options.where
    parts = [
        f"{name} {value}"
        for name, value in (
            ("--channel", where.channel_id),
            ("--pair", where.pair),
            ("--since", where.since),
            ("--until", where.until),
        )
        if value is not None
    ]
    if where.blind_only:
        parts.append("--blind-only")
    return ", ".join(parts) if parts else "none (every vote)"


def body(dataset: Dataset) -> list[str]:
    default = dataset.written[0].name
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        MARKER,
        "",
        "# twinbot: base vs instruct votes",
        "",
        "People asked one prompt of a base model and its instruct twin (the same pre-trained "
        "checkpoint, before and after post-training) and voted on the two answers with "
        "reactions. Written by `twinbot export --format "
        f"{dataset.fmt.value}` on {made}; filters: {_filters(dataset)}.",
        "",
        "## Configs: which to use for what",
        "",
        *_config_table(dataset),
        "",
        "The two models saw different prompts: the instruct model got the user's prompt as one "
        "chat message, the base model the framed prompt (`framed_prompt`). Each DPO pair holds "
        "one text of each, so no single view is what both saw: train a chat model on the "
        "conversational config, a base model on the `_framed` one.",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'train = load_dataset("path/to/this/folder", "{default}", split="train")',
        'train = train.filter(lambda row: not row["flags"])  # see Flags',
        "```",
        "",
        "To share it: upload this folder as it is (`huggingface-cli upload NAME . "
        "--repo-type dataset`); the Hub reads the configs above from this card.",
    ]
    if dataset.kto_order is not None:
        lines += [
            "",
            "KTO: keep the rows in the order written (`KTOTrainer` needs "
            "`train_sampling_strategy='sequential'` for its KL term, which pairs each row with "
            "its neighbour's completion); the order is already shuffled so that two answers to "
            "one prompt are not neighbours. Filtering keeps that order.",
        ]
    lines += [
        "",
        "## From votes to rows",
        "",
        "Each vote is one user's latest reaction on a comparison: the side shown as A is "
        "better, B is better, tie, or both bad (twinbot's docs/votes.md has the reactions). "
        "A DPO row exists when one side has more votes than the other side and than ties and "
        "both-bad together: that side is `chosen`. KTO labels the winner `true` and the other "
        "side `false`; a tie majority labels both `true`, a both-bad majority both `false`; "
        "a split vote gives no row.",
        "",
        "## Fields",
        "",
        "| field | meaning |",
        "|---|---|",
        *(f"| {name} | {meaning} |" for name, meaning in _FIELDS),
        "",
        "The `votes` config has one row per vote: `choice`, `blind` and `by_requester` (0 or "
        "1), `shown_first`, `voted_at`, `user_key` (a salted hash, never a platform id) and the "
        "comparison's fields; `options` is JSON there.",
        "",
        "## Flags",
        "",
        *(f"- `{flag.value}`: {_FLAG_TEXT[flag.value]}" for flag in FLAGS),
        "",
        "## Counts",
        "",
        *_counts(dataset),
        "",
    ]
    return lines


def card_text(dataset: Dataset, paths: list[str]) -> str:
    return "---\n" + yaml_text(front_matter(dataset, paths)) + "---\n" + "\n".join(body(dataset))
