"""The Discord front end: `/compare` into a thread, reactions as votes, `/leaderboard`.

`twinbot run discord` calls `run(settings)`. Modules, one job each: `client` (intents,
commands sync, events), `commands` (the slash commands), `compare_flow` (admit and
acknowledge), `view` (the CompareView streaming into a thread), `layout` (what the messages
say, and splitting), `surfaces` (where they go), `pacing` (Discord's per-channel budget),
`reactions` (votes and blind reveal), `leaderboard`, `runner` (start and stop).
"""

from adapters.discord_bot.runner import run

__all__ = ["run"]
