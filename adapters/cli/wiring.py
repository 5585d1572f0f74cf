"""The front ends the command line wires to the core, imported by type so mypy checks them.

Imported only by the commands that need a platform (`run`, `doctor`): discord.py and
slack-bolt take a moment to import, and `twinbot compare` should not wait for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from adapters.discord_bot import doctor as discord_doctor
from adapters.discord_bot import runner as discord_runner
from adapters.slack_app import doctor as slack_doctor
from adapters.slack_app import runner as slack_runner
from bot.config import Settings
from bot.ops.doctor import PlatformCheck

PLATFORM_RUNNERS: Mapping[str, Callable[[Settings], Awaitable[int]]] = {
    "discord": discord_runner.run,
    "slack": slack_runner.run,
}
PLATFORM_CHECKS: Mapping[str, PlatformCheck] = {
    "discord": discord_doctor.checks,
    "slack": slack_doctor.checks,
}
