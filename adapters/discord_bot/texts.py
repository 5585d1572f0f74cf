"""What twinbot's Discord messages say: the parent, the thread name, the output messages.

Pure functions from the core's snapshot to message specs; `view.py` sends them. Both sides
share the first message of the thread as two embeds (A above B), so one edit refreshes both.
A side longer than one embed continues in messages of its own, split at a line or word
boundary, with a cut code block closed and reopened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.discord_bot.display import (
    SPOILER_RESERVE,
    contain_bidi,
    disarm_links,
    escape_pipes,
    quiet_urls,
    spoiler,
)
from adapters.discord_bot.safety_texts import BANNER_MAX, side_banner, waiting_placeholder
from bot.chat.surface import Reveal
from bot.domain import (
    CompareRequest,
    CompareSnapshot,
    Role,
    SafetyMode,
    SideSnapshot,
    SideStatus,
)
from bot.text.render import ROLE_LABELS, redact, side_title, split_text, stats_line
from bot.votes.mapping import other

# Discord's limits: content 2,000; an embed's description 4,096; a message's embeds 6,000
# together (titles and footers count). Two embeds of at most 100 + 2,600 + 200 stay under.
CONTENT_MAX = 2000
EMBED_TEXT_MAX = 2600
TITLE_MAX = 100
FOOTER_MAX = 200
PROMPT_MAX = 4000
THREAD_NAME_MAX = 100
_FENCE_RESERVE = 24  # "```" + a 12-character language + "\n" before, "\n```" after

LETTERS = ("🅰️", "🅱️")
_ROLE_COLOURS = {Role.BASE: 0xD95F02, Role.INSTRUCT: 0x1B9E77}  # the chart's colours
_BLIND_COLOURS = (0x5865F2, 0x99AAB5)  # by position only: a colour must not name a side
# Discord's own code-block rule: ``` opens, the next ``` closes, whatever the line or length.
_TICKS = re.compile(r"```")
_LANGUAGE = re.compile(r"([A-Za-z0-9_+\-.#]{1,12})\n")


@dataclass(frozen=True, slots=True)
class Piece:
    """One message's share of a side's text: `raw` is the model's text, the fences are ours.
    `shown` has bidi openers left open neutralised and masked links disarmed (display only)
    and, concealed, is a spoiler."""

    raw: str
    prefix: str = ""
    suffix: str = ""
    concealed: bool = False

    @property
    def shown(self) -> str:
        body = disarm_links(self.prefix + contain_bidi(self.raw) + self.suffix)
        return spoiler(body) if self.concealed else body


@dataclass(frozen=True, slots=True)
class EmbedSpec:
    title: str
    description: str
    colour: int
    footer: str | None = None


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One output message: `role` None shows both sides (the first message of a thread)."""

    role: Role | None
    part: int
    content: str | None
    embeds: tuple[EmbedSpec, ...]

    @property
    def key(self) -> tuple[Role | None, int]:
        return (self.role, self.part)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code_block_after(text: str, open_language: str | None) -> str | None:
    """The language of the code block still open at the end of `text` ("" for none given),
    or None if no block is open, given the one open at its start."""
    for match in _TICKS.finditer(text):
        if open_language is None:
            language = _LANGUAGE.match(text, match.end())
            open_language = language.group(1) if language else ""
        else:
            open_language = None
    return open_language


def _fit_shown(raw: str, room: int, concealed: bool) -> list[str]:
    """`raw` cut further until each part fits `room` once shown: a ZWSP at most for each
    `](` (disarmed links) and, concealed, for each pipe. Those characters are disjoint, so the
    shown text is at most twice as long and halving the room always suffices."""
    grown = len(escape_pipes(raw) if concealed else raw) + raw.count("](")
    if grown <= room:
        return [raw]
    return split_text(raw, room // 2)


def split_for_discord(
    text: str, limit: int = EMBED_TEXT_MAX, *, concealed: bool = False
) -> list[Piece]:
    """Pieces of at most `limit` characters shown; their `raw` parts concatenate to `text`.

    A code block open at the end of a piece is closed there and reopened in the next one (the
    last piece is closed too, so a block still being written renders as code while it streams).
    Concealed, every piece is a spoiler of its own.
    """
    if limit <= 2 * _FENCE_RESERVE + (SPOILER_RESERVE if concealed else 0):
        raise ValueError("limit too small for the code-block fences")
    # Room for the fences in every piece, and for the spoiler bars around a concealed one.
    room = limit - _FENCE_RESERVE - (SPOILER_RESERVE if concealed else 0)
    raws = [part for raw in split_text(text, room) for part in _fit_shown(raw, room, concealed)]
    pieces = []
    language: str | None = None
    for raw in raws:
        prefix = "" if language is None else f"```{language}\n"
        language = _code_block_after(raw, language)
        suffix = "" if language is None else "\n```"
        pieces.append(Piece(raw, prefix, suffix, concealed))
    return pieces


def side_order(request: CompareRequest) -> tuple[Role, Role]:
    """The role shown as A, then as B (base first unless the comparison is blind)."""
    return request.shown_first, other(request.shown_first)


def side_label(request: CompareRequest, role: Role) -> str:
    """A side's name in this comparison: "Model A" while blind, else role and model tag."""
    if request.blind:
        return f"Model {'AB'[side_order(request).index(role)]}"
    return f"{ROLE_LABELS[role]} `{request.pair.tag(role)}`"


def _title(request: CompareRequest, side: SideSnapshot, part: int) -> str:
    position = side_order(request).index(side.role)
    name = f"Model {'AB'[position]}" if request.blind else side_title(side)
    more = f" · part {part + 1}" if part else ""
    return clip(f"{LETTERS[position]} {name}{more}", TITLE_MAX)


def _footer(request: CompareRequest, side: SideSnapshot) -> str:
    if side.status is SideStatus.FAILED:
        return "failed (the reason is above)"
    return clip(redact(stats_line(side), request), FOOTER_MAX)


def _colour(request: CompareRequest, role: Role) -> int:
    if request.blind:
        return _BLIND_COLOURS[side_order(request).index(role)]
    return _ROLE_COLOURS[role]


def side_pieces(side: SideSnapshot) -> list[Piece]:
    """A side's text split for its messages; a gated side keeps room for its safety line."""
    if side.safety is None:
        return split_for_discord(side.text)
    return split_for_discord(
        side.text, EMBED_TEXT_MAX - BANNER_MAX, concealed=side.safety.concealed and bool(side.text)
    )


def _description(side: SideSnapshot, pieces: list[Piece], part: int) -> str:
    if side.text:
        body = pieces[part].shown
    elif side.finished:
        body = "*(no text)*"
    else:
        body = waiting_placeholder(side.safety is not None)
    banner = side_banner(side.safety)
    if banner is None or side.safety is None:
        return body
    if side.safety.mode is SafetyMode.WITHHOLD and side.safety.concealed:
        return banner  # the core withheld the text: the line alone says what happened
    return f"{banner}\n{body}"


def _embed(
    request: CompareRequest, side: SideSnapshot, pieces: list[Piece], part: int
) -> EmbedSpec:
    description = _description(side, pieces, part)
    last = part == len(pieces) - 1
    return EmbedSpec(
        _title(request, side, part),
        description,
        _colour(request, side.role),
        _footer(request, side) if last else None,
    )


def problem_lines(snapshot: CompareSnapshot) -> list[str]:
    """One short line per side that failed or was stopped."""
    request = snapshot.request
    lines = []
    for role in side_order(request):
        side = snapshot.instruct if role is Role.INSTRUCT else snapshot.base
        label = side_label(request, role)
        if side.status is SideStatus.FAILED:
            error = quiet_urls(contain_bidi(redact(side.error or "unknown error", request)))
            lines.append(f"⚠️ **{label}** failed: {error}")
        elif side.status is SideStatus.CANCELLED:
            lines.append(f"⏹️ **{label}** was stopped before the model finished.")
    return lines


def output_messages(snapshot: CompareSnapshot, notice: str | None = None) -> list[MessageSpec]:
    """Every output message of a comparison as it stands: first the one showing both sides
    (with `notice`, the core's own notice and any failure as its content), then each side's
    continuations."""
    request = snapshot.request
    sides = {Role.BASE: snapshot.base, Role.INSTRUCT: snapshot.instruct}
    order = side_order(request)
    pieces = {role: side_pieces(sides[role]) for role in order}
    notices = [text for text in (notice, snapshot.notice) if text]
    lines = [f"⚠️ {quiet_urls(text)}" for text in notices] + problem_lines(snapshot)
    content = clip("\n".join(lines), CONTENT_MAX) if lines else None
    both = tuple(_embed(request, sides[role], pieces[role], 0) for role in order)
    messages = [MessageSpec(None, 0, content, both)]
    for role in order:
        for part in range(1, len(pieces[role])):
            embed = _embed(request, sides[role], pieces[role], part)
            messages.append(MessageSpec(role, part, None, (embed,)))
    return messages


def vanished_message(snapshot: CompareSnapshot, role: Role, part: int) -> MessageSpec:
    """What a continuation shows once its side no longer reaches it (the gate withheld the
    text): the side's safety line, never the old text."""
    side = snapshot.base if role is Role.BASE else snapshot.instruct
    request = snapshot.request
    description = side_banner(side.safety) or "*(nothing more)*"
    embed = EmbedSpec(_title(request, side, part), description, _colour(request, role))
    return MessageSpec(role, part, None, (embed,))


def thread_name(comparison_id: int, prompt: str, *, hide_prompt: bool = False) -> str:
    """1 to 100 characters: the comparison's number and the prompt on one line (not the
    prompt where the safety gate hides it: a thread's name cannot be hidden)."""
    if hide_prompt:
        return f"#{comparison_id} · twinbot comparison"
    shown = contain_bidi(" ".join(prompt.split()))
    return clip(f"#{comparison_id} · {shown}", THREAD_NAME_MAX)


def reveal_text(reveal: Reveal) -> str:
    named = [
        f"{LETTERS[position]} Model {'AB'[position]} was **{ROLE_LABELS[role]}** `{tag}`"
        for position, (role, tag) in enumerate(reveal.in_shown_order())
    ]
    return clip(f"🔓 Names revealed ({reveal.why}): {'; '.join(named)}.", CONTENT_MAX)
