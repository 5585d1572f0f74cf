"""What reactions mean in the tests: each platform's own vocabulary, and "test" (the recording
surface's platform) reading both spellings."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.cli.vocabularies import VOCABULARIES as PLATFORMS
from adapters.discord_bot.votes import VOCABULARY as DISCORD
from adapters.slack_app.votes import VOCABULARY as SLACK
from bot.votes.mapping import Vocabulary

VOCABULARIES: Mapping[str, Vocabulary] = {**PLATFORMS, "test": {**DISCORD, **SLACK}}
