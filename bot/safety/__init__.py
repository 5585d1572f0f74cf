"""The safety gate: a guard model judging prompts and outputs ahead of what a channel shows."""
