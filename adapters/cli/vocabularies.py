"""What each platform's reactions mean, for the commands that read votes (`stats`, `export`,
`recompute-votes`): light modules, so these commands do not load discord.py or slack-bolt."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.discord_bot import votes as discord_votes
from adapters.slack_app import votes as slack_votes
from bot.votes.mapping import Vocabulary

VOCABULARIES: Mapping[str, Vocabulary] = {
    "discord": discord_votes.VOCABULARY,
    "slack": slack_votes.VOCABULARY,
}
