"""The Discord front end: `/compare` into a thread, reactions as votes, `/leaderboard`.

`twinbot run discord` calls `run(settings)`. Modules, one job each: `client` (intents,
commands sync, events, drain and close), `commands` (the slash commands), `compare_flow`
(admit and acknowledge), `compare_run` (wait for a place, run), `queueing` (the fair queue's
refusal, shutdown intake), `parent` (the reply to /compare, kept up to date), `view` (the
CompareView streaming into a thread), `layout` (what the messages say, and splitting),
`display` (bidi, spoilers, invisible text), `gate_texts` and `safety_mode` (the safety gate's
words, and each channel's mode with `/safety`), `admins`, `surfaces` (where messages go),
`pacing` (Discord's per-channel budget), `reactions` (votes and blind reveal), `leaderboard`,
`health` (the ops server's check, 429 counting), `runner` (start and stop).
"""

from adapters.discord_bot.runner import run

__all__ = ["run"]
