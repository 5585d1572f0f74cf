"""The `twinbot` command: the composition root that wires the core to the terminal, Discord and
Slack adapters (also `python -m adapters.cli`)."""
