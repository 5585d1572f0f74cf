"""Chat-platform adapters: each translates one front end to and from the core in `bot`."""
