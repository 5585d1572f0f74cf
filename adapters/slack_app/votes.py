"""What reactions mean on Slack: the reactions twinbot seeds, and every name it reads.

Slack sends short names (`a`, `-1`, `thumbsdown`…); the core strips `::skin-tone-N` and
colons (`bot.votes.mapping.normalize_emoji`). Mapped to the core's signals; docs/votes.md has
the whole mapping.
"""

from __future__ import annotations

from bot.votes.mapping import Signal, Vocabulary, vocabulary

# Seeded on each comparison's parent, in this order: what people click to vote.
SEEDED = ((Signal.A, "a"), (Signal.B, "b"), (Signal.TIE, "handshake"), (Signal.DOWN, "-1"))
SEEDS = tuple(name for _, name in SEEDED)
VOCABULARY: Vocabulary = vocabulary(
    {
        **{name: signal for signal, name in SEEDED},
        "thumbsdown": Signal.DOWN,
        "+1": Signal.UP,
        "thumbsup": Signal.UP,
    }
)
