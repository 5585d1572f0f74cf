"""The SQLite store: comparisons, outputs, messages, the reaction log, votes, settings; its
migrations, backups and default location."""
