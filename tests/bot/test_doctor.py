"""`twinbot doctor` on what breaks a chat bot quietly: the guard model a safety mode relies on."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.ops.doctor import Check, run_checks
from tests.fakes.ollama_fake import OllamaFake

GUARD = "llama-guard3:1b"


async def guard_check(make_settings: Callable[..., Settings], ollama: OllamaFake, **env) -> Check:
    settings = make_settings(ollama_host=ollama.url, **env)
    [check] = [c for c in await run_checks(settings) if c.name == f"guard model {GUARD}"]
    return check


async def test_a_missing_guard_with_withhold_by_default_is_a_problem(make_settings, ollama):
    check = await guard_check(make_settings, ollama, safety_default="withhold")
    assert not check.ok
    assert check.detail == (
        "not pulled; with TWINBOT_SAFETY_DEFAULT=withhold outputs there are hidden or withheld, "
        "every one"
    )
    assert check.fix == f"ollama pull {GUARD}, or set those to label or off"


async def test_spoiler_needs_the_guard_too(make_settings, ollama):
    assert not (await guard_check(make_settings, ollama, safety_default="spoiler")).ok


async def test_a_pulled_guard_passes(make_settings, ollama):
    ollama.models.add(GUARD)
    check = await guard_check(make_settings, ollama, safety_default="withhold")
    assert (check.ok, check.warning, check.detail) == (True, False, "pulled")


async def test_label_without_the_guard_is_a_warning_not_a_failure(make_settings, ollama):
    check = await guard_check(make_settings, ollama, safety_default="label")
    assert (check.ok, check.warning) == (True, True)
    assert "outputs show unchecked" in check.detail


async def test_with_safety_off_the_guard_is_not_checked(make_settings, ollama):
    settings = make_settings(ollama_host=ollama.url)  # safety off; NSFW default only on Discord
    names = [check.name for check in await run_checks(settings)]
    assert f"guard model {GUARD}" not in names
    assert all(check.ok for check in await run_checks(settings))
