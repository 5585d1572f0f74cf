"""The Discord front end: `/compare` into a thread, reactions as votes, `/leaderboard`.

`twinbot run discord` calls `runner.run(settings)`; this package imports nothing by itself, so
its light modules (`votes`) load without discord.py. Modules, one job each:
`client` (intents, command sync, events, drain and close), `commands` (the slash commands),
`compare_surface` (the core's ChatSurface for one interaction), `parent` (the reply to
/compare, kept up to date), `view` (the output view streaming into a thread), `texts` (what
the messages say, and splitting), `display` (bidi, spoilers, links), `safety_texts` and
`safety_mode` (the safety gate's words, and `/safety`), `admins`, `surfaces` (where messages
go), `pacing` (Discord's per-channel budget), `reactions` (raw events into the core's votes,
reveals said in the thread), `votes` (what reactions mean), `leaderboard`, `health`,
`doctor`, `runner` (start and stop).
"""
