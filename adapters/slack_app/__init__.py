"""The Slack adapter: `/compare` in a thread, over Socket Mode or HTTP, inside Slack's limits.

Modules, one job each:
- `runner`: `twinbot run slack` (tokens, mode, signals)
- `app`: the bolt AsyncApp factory (`SlackBot`) and what commands share
- `command`: the `/compare` listener and the background run
- `view`: the CompareView that draws a comparison into a thread
- `scheduler`: chat.update per workspace, within the Tier 3 budget
- `posting`: chat.postMessage per channel, about one a second
- `texts`, `mrkdwn`: what the messages say, escaped and split for Slack
"""

from adapters.slack_app.app import SlackBot
from adapters.slack_app.runner import SlackSetupError, run, serve

__all__ = ["SlackBot", "SlackSetupError", "run", "serve"]
