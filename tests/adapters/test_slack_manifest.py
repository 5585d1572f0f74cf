"""deploy/slack-manifest.yml creates the app twinbot expects, in one paste."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import REPO_ROOT
from bot.inline_options import usage

yaml = pytest.importorskip("yaml")  # PyYAML: present in dev environments, not a dependency


def manifest() -> dict[str, Any]:
    text = (REPO_ROOT / "deploy" / "slack-manifest.yml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def test_command_scopes_events_and_socket_mode():
    app = manifest()
    [command] = app["features"]["slash_commands"]
    assert command["command"] == "/compare"
    assert command["should_escape"] is False  # mentions arrive as typed, not as <@U…>
    assert set(app["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "reactions:read", "reactions:write",
    }  # fmt: skip
    assert app["settings"]["event_subscriptions"]["bot_events"] == [
        "reaction_added", "reaction_removed",
    ]  # fmt: skip
    assert app["settings"]["socket_mode_enabled"] is True
    assert app["features"]["bot_user"]["display_name"] == "twinbot"


def test_usage_hint_is_the_parsers_syntax():
    [command] = manifest()["features"]["slash_commands"]
    assert f"`/compare {command['usage_hint']}`" in usage()
    assert len(command["usage_hint"]) <= 1000 and len(command["description"]) <= 2000
