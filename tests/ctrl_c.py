"""A process a test interrupts with Ctrl-C, started as a terminal would start it.

A shell running a job in the background without job control (as some CI runners do) starts it
with SIGINT ignored, and every process below inherits that: a Python started so never sees a
Ctrl-C, and a test of what twinbot does on one would wait for the whole run instead. The child
gets SIGINT's default back before it starts, as from an interactive shell.
"""

from __future__ import annotations

import signal


def as_from_a_terminal() -> None:
    """`preexec_fn` for a child that a test sends SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
