"""deploy/slack-manifest.yml creates the app twinbot expects, in one paste."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack_app.syntax import COMPARE_HINT, LEADERBOARD_HINT, slack_usage
from bot.config import REPO_ROOT
from bot.engine.inline_options import usage

yaml = pytest.importorskip("yaml")  # PyYAML: present in dev environments, not a dependency


def manifest() -> dict[str, Any]:
    text = (REPO_ROOT / "deploy" / "slack-manifest.yml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def test_commands_scopes_events_interactivity_and_socket_mode():
    app = manifest()
    compare, leaderboard = app["features"]["slash_commands"]
    assert compare["command"] == "/compare"
    assert compare["should_escape"] is False  # mentions arrive as typed, not as <@U…>
    assert leaderboard["command"] == "/leaderboard"
    assert leaderboard["should_escape"] is True  # `#general` arrives as <#C…|general>
    assert set(app["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "reactions:read", "reactions:write", "files:write",
        "users:read",
    }  # fmt: skip
    assert app["settings"]["event_subscriptions"]["bot_events"] == [
        "reaction_added", "reaction_removed",
    ]  # fmt: skip
    assert app["settings"]["interactivity"]["is_enabled"] is True  # the spoiler button
    assert app["settings"]["socket_mode_enabled"] is True
    assert app["features"]["bot_user"]["display_name"] == "twinbot"


def test_usage_hints_are_the_parsers_syntax():
    compare, leaderboard = manifest()["features"]["slash_commands"]
    assert compare["usage_hint"] == COMPARE_HINT
    assert slack_usage() == f"Usage: `/compare {compare['usage_hint']}`"
    assert leaderboard["usage_hint"] == LEADERBOARD_HINT
    # Everything the core parser takes, plus Slack's own --blind and --lens.
    core = usage().removeprefix("Usage: `/compare ").removesuffix("`")
    assert (
        compare["usage_hint"]
        == f"[--blind|--no-blind] [--lens[=odds|shift|samples]] [--samples N] {core}"
    )
    for command in (compare, leaderboard):
        assert len(command["usage_hint"]) <= 1000 and len(command["description"]) <= 2000
