"""Turn votes into datasets a trainer can load: TRL's DPO and KTO JSONL, and a flat CSV.

Rows never carry a raw user id: only the stored user key (a salted hash by default) is in
the CSV, and the JSONL carries vote counts only.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import Role
from bot.store.sqlite import Store, VoteFilter, VoteRow
from bot.votes.mapping import Choice


class ExportFormat(enum.StrEnum):
    DPO = "dpo"
    KTO = "kto"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class Voted:
    """A comparison with both outputs complete, and what people voted on it."""

    comparison_id: int
    prompt: str
    texts: dict[Role, str]
    metadata: dict[str, Any]
    counts: Counter[Choice]

    @property
    def winner(self) -> Role | None:
        base, instruct = self.counts[Choice.BASE_BETTER], self.counts[Choice.INSTRUCT_BETTER]
        if base == instruct:
            return None
        # Only a side that also beats the ties and both-bad votes together is "chosen".
        others = self.counts[Choice.TIE] + self.counts[Choice.BOTH_BAD]
        best, best_count = (Role.BASE, base) if base > instruct else (Role.INSTRUCT, instruct)
        return best if best_count > others else None


async def voted_comparisons(store: Store, votes: Sequence[VoteRow]) -> list[Voted]:
    by_comparison: dict[int, list[VoteRow]] = defaultdict(list)
    for vote in votes:
        by_comparison[vote.comparison_id].append(vote)
    voted = []
    for comparison_id, rows in sorted(by_comparison.items()):
        comparison = await store.comparison(comparison_id)
        outputs = await store.outputs(comparison_id)
        if comparison is None or any(
            outputs.get(role, {}).get("status") != "done" for role in Role
        ):
            continue  # only completed outputs make training data
        first = rows[0]
        voted.append(
            Voted(
                comparison_id=comparison_id,
                prompt=comparison["prompt"],
                texts={role: outputs[role]["text"] for role in Role},
                metadata={
                    "comparison_id": comparison_id,
                    "pair": first.pair,
                    "base_model": first.base_model,
                    "instruct_model": first.instruct_model,
                    "framing": first.framing,
                    "framed_prompt": comparison["framed_prompt"],
                    "options": json.loads(first.options_json),
                    "blind": bool(comparison["blind"]),
                    "platform": first.platform,
                    "created_at": first.created_at,
                },
                counts=Counter(row.choice for row in rows),
            )
        )
    return voted


def _vote_counts(item: Voted) -> dict[str, int]:
    return {choice.value: item.counts[choice] for choice in Choice}


def dpo_rows(items: Iterable[Voted]) -> list[dict[str, Any]]:
    """TRL's standard preference format; ties and both-bad majorities are left out."""
    rows = []
    for item in items:
        winner = item.winner
        if winner is None:
            continue
        loser = Role.INSTRUCT if winner is Role.BASE else Role.BASE
        rows.append(
            {
                "prompt": item.prompt,
                "chosen": item.texts[winner],
                "rejected": item.texts[loser],
                "chosen_role": winner.value,
                **item.metadata,
                "votes": _vote_counts(item),
            }
        )
    return rows


def kto_rows(items: Iterable[Voted]) -> list[dict[str, Any]]:
    """TRL's unpaired preference format: each output labelled desirable or not.

    A winner is desirable and the other side not; a tie majority marks both desirable and a
    both-bad majority marks both undesirable; a split vote gives no label.
    """
    rows = []
    for item in items:
        winner = item.winner
        labels: dict[Role, bool]
        if winner is not None:
            labels = {role: role is winner for role in Role}
        else:
            ties, bad = item.counts[Choice.TIE], item.counts[Choice.BOTH_BAD]
            decisive = item.counts[Choice.BASE_BETTER] + item.counts[Choice.INSTRUCT_BETTER]
            if ties > max(bad, decisive):
                labels = dict.fromkeys(Role, True)
            elif bad > max(ties, decisive):
                labels = dict.fromkeys(Role, False)
            else:
                continue
        for role, label in labels.items():
            rows.append(
                {
                    "prompt": item.prompt,
                    "completion": item.texts[role],
                    "label": label,
                    "role": role.value,
                    "model": item.metadata[f"{role.value}_model"],
                    **item.metadata,
                    "votes": _vote_counts(item),
                }
            )
    return rows


CSV_COLUMNS = (
    "comparison_id",
    "voted_at",
    "platform",
    "channel_id",
    "pair",
    "base_model",
    "instruct_model",
    "framing",
    "options",
    "choice",
    "blind",
    "user_key",
)


def csv_text(votes: Iterable[VoteRow], anonymize: Callable[[str], str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for vote in votes:
        writer.writerow(
            (
                vote.comparison_id,
                vote.voted_at,
                vote.platform,
                vote.channel_id or "",
                vote.pair,
                vote.base_model,
                vote.instruct_model,
                vote.framing,
                vote.options_json,
                vote.choice.value,
                int(vote.blind),
                anonymize(vote.user_key),
            )
        )
    return out.getvalue()


# json escapes C0 itself; DEL and C1 it writes raw, and a terminal that shows the file may act
# on them (U+009B is CSI). Inside a JSON string `\u009b` is the same value, so nothing changes.
_RAW_CONTROLS = re.compile(r"[\x7f-\x9f]")


def jsonl_text(rows: Iterable[dict[str, Any]]) -> str:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return _RAW_CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


async def export_text(store: Store, fmt: ExportFormat, where: VoteFilter) -> tuple[str, int]:
    """The file's content and how many rows it holds."""
    votes = await store.votes(where)
    if fmt is ExportFormat.CSV:
        return csv_text(votes, store.anonymous_key), len(votes)
    items = await voted_comparisons(store, votes)
    rows = dpo_rows(items) if fmt is ExportFormat.DPO else kto_rows(items)
    return jsonl_text(rows), len(rows)
