"""What reactions mean on Discord: the emoji twinbot seeds, and every spelling it reads.

Discord sends the Unicode emoji; the core normalizes variation selectors and skin tones away
(`bot.votes.mapping.normalize_emoji`), so one key serves every spelling. Mapped to the core's
signals; docs/votes.md has the whole mapping.
"""

from __future__ import annotations

from bot.votes.mapping import Signal, Vocabulary, vocabulary

# Seeded on each comparison, in this order: what people click to vote.
SEEDED = ((Signal.A, "🅰️"), (Signal.B, "🅱️"), (Signal.TIE, "🤝"), (Signal.DOWN, "👎"))
SEED_EMOJI = tuple(emoji for _, emoji in SEEDED)
VOCABULARY: Vocabulary = vocabulary(
    {**{emoji: signal for signal, emoji in SEEDED}, "👍": Signal.UP}
)
