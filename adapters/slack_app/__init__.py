"""The Slack adapter: `/compare` in a thread, votes, `/leaderboard`, the safety gate, over
Socket Mode or HTTP, inside Slack's limits.

Modules, one job each:
- `runner`: `twinbot run slack` (tokens, mode, ops server, signals); `health`: its checks
- `app`: the bolt AsyncApp factory (`SlackBot`) and what listeners share
- `command`: the `/compare` listener (subcommands `demo`, `safety`); `syntax`: its text
- `running`: one comparison after the ack (queue, safety gate, seeds, reveal timer)
- `queueing`: a waiting user's place; `invocation`: a command and private answers
- `view`: the CompareView that draws a comparison into a thread
- `reactions`: reactions into votes, blind reveals; `seeding`: the four choices
- `leaderboard`: `/leaderboard`; `safety`: per-channel mode; `spoilers`: the reveal button
- `scheduler`, `seeding`, `pacing`: Tier 3 calls per workspace; `posting`: chat.postMessage
- `texts`, `safety_texts`, `vote_texts`, `mrkdwn`: what messages say, escaped and split
"""

from adapters.slack_app.app import SlackBot
from adapters.slack_app.runner import SlackSetupError, run, serve

__all__ = ["SlackBot", "SlackSetupError", "run", "serve"]
