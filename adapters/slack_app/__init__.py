"""The Slack adapter: `/compare` in a thread, votes, `/leaderboard`, the safety gate, over
Socket Mode or HTTP, inside Slack's limits.

Modules, one job each (the package imports none of them by itself):
- `runner`: `twinbot run slack` (tokens, mode, ops server, signals); `health`, `doctor`
- `app`: the bolt AsyncApp (`SlackBot`); `context`: what the listeners share
- `command`: the `/compare` listener (subcommands `demo`, `safety`); `syntax`: its text
- `compare_surface`: the core's ChatSurface for one command; `queueing`: a waiting user's place
- `invocation`: a command and private answers; `view`: the output view in a thread
- `reactions`: events into the core's votes, reveals said in the thread; `votes`: what
  reactions mean; `seeding`: the four choices; `replays`: refusing replayed requests
- `leaderboard`: `/leaderboard`; `safety_mode`: per-channel mode; `spoilers`: the reveal button
- `scheduler`, `streams`, `pacing`: Tier 3/4 calls per workspace; `posting`: chat.postMessage
- `texts`, `safety_texts`, `vote_texts`, `mrkdwn`, `markdown_text`: what messages say, escaped
"""
