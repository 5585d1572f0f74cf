"""`twinbot doctor` and `twinbot pairs`: what is wrong with this install, and how to fix it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.domain import BackendKind, ModelPair, Role, SafetyMode
from bot.engine.backend import Backend, canonical_tag
from bot.engine.catalog import FRAMINGS_FILE, PAIRS_FILE, load_catalog
from bot.engine.demos import DEMOS_FILE, load_demos
from bot.engine.openai_backend import api_key_from_env
from bot.engine.prompt_files import describe_sources, is_builtin
from bot.engine.routing import RoutingBackend
from bot.errors import BackendError, TwinbotError
from bot.runtime import make_backend, open_store


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # ok, but worth a look: shown, without failing doctor


# A platform's token check lives with its adapter (it uses the platform library, which the core
# never imports); the command line hands them in, and each runs only when its token is set.
PlatformCheck = Callable[[Settings], Awaitable[list[Check]]]
# Modes whose gate closes when the guard cannot judge: without the guard model, nothing shows.
GATED_MODES = (SafetyMode.SPOILER, SafetyMode.WITHHOLD)


async def pull_status(backend: Backend) -> tuple[set[str] | None, str | None]:
    """The pulled tags, or None and why they could not be listed."""
    try:
        return await backend.list_models(), None
    except BackendError as exc:
        return None, str(exc)


async def run_checks(
    settings: Settings, platform_checks: Mapping[str, PlatformCheck] | None = None
) -> list[Check]:
    checks = [Check("configuration", True, "settings loaded")]
    sources = describe_sources(settings.prompts_dir, (PAIRS_FILE, FRAMINGS_FILE, DEMOS_FILE))
    try:
        catalog = load_catalog(settings.prompts_dir)
        demos = load_demos(settings.prompts_dir, catalog)
    except TwinbotError as exc:
        fix = (
            "reinstall twinbot, or set TWINBOT_PROMPTS_DIR to a folder of your own"
            if is_builtin(settings.prompts_dir)
            else "fix the file named above, or remove it to use the built-in one"
        )
        return [*checks, Check("prompts", False, str(exc), fix)]
    checks.append(
        Check(
            "prompts",
            True,
            f"{len(catalog.pairs)} pairs, {len(catalog.framings)} framings, "
            f"{len(demos)} demos ({sources})",
        )
    )
    own_pairs = settings.prompts_dir / PAIRS_FILE
    for name, variable, value, known, listing in (
        (
            "default pair",
            "TWINBOT_DEFAULT_PAIR",
            settings.default_pair,
            catalog.pairs,
            "`twinbot pairs`",
        ),
        (
            "default framing",
            "TWINBOT_DEFAULT_FRAMING",
            settings.default_framing,
            catalog.framings,
            "the framings: " + ", ".join(sorted(catalog.framings)),
        ),
    ):
        ok = value in known
        fix = f"set {variable} to one of {listing}"
        if name == "default pair" and not is_builtin(settings.prompts_dir):
            fix += f", or add it to {own_pairs}"
        checks.append(Check(name, ok, value if ok else f"{value} (unknown)", "" if ok else fix))

    # The default pair's own servers: Ollama, or the OpenAI-compatible endpoints it names.
    pair = catalog.pairs.get(settings.default_pair)
    backend = make_backend(settings, catalog)
    try:
        if pair is not None and pair.backend is BackendKind.OPENAI:
            checks.extend(await _openai_checks(backend, pair))
            checks.extend(await _raw_base_check(pair, settings.connect_timeout))
        else:
            checks.extend(await _ollama_checks(backend, pair))
        checks.extend(await _guard_checks(settings, backend))
    finally:
        await backend.close()

    try:
        store = await open_store(settings)
        try:
            await store.check_writable()
            version = str(await store.schema_version())
        finally:
            await store.close()
        checks.append(
            Check("database", True, f"{settings.database_path} writable, schema v{version}")
        )
    except (TwinbotError, OSError) as exc:
        checks.append(
            Check("database", False, str(exc), "set TWINBOT_DATABASE_PATH to a writable file")
        )
    for platform, check in (platform_checks or {}).items():
        if _platform_configured(settings, platform):
            checks.extend(await check(settings))
    return checks


def _platform_configured(settings: Settings, platform: str) -> bool:
    token = settings.discord_token if platform == "discord" else settings.slack_bot_token
    return token is not None and bool(token.get_secret_value().strip())


async def _guard_checks(settings: Settings, backend: RoutingBackend) -> list[Check]:
    """The guard model, when a default safety mode uses it (it runs on Ollama in every case)."""
    modes = {"TWINBOT_SAFETY_DEFAULT": settings.safety_default}
    if _platform_configured(settings, "discord"):  # only Discord marks channels NSFW
        modes["TWINBOT_SAFETY_NSFW_DEFAULT"] = settings.safety_nsfw_default
    used = {variable: mode for variable, mode in modes.items() if mode is not SafetyMode.OFF}
    if not used:
        return []
    gated = {variable: mode for variable, mode in used.items() if mode in GATED_MODES}
    tag = settings.guard_model
    name = f"guard model {tag}"
    pulled, problem = await pull_status(backend.ollama)
    if pulled is not None and canonical_tag(tag) in pulled:
        return [Check(name, True, "pulled")]
    why = problem or "not pulled"
    settings_text = ", ".join(f"{variable}={mode}" for variable, mode in used.items())
    fix = f"ollama pull {tag}" if pulled is not None else "start Ollama (the guard runs there)"
    if gated:
        hidden = ", ".join(f"{variable}={mode}" for variable, mode in gated.items())
        return [
            Check(
                name,
                False,
                f"{why}; with {hidden} outputs there are hidden or withheld, every one",
                f"{fix}, or set those to label or off",
            )
        ]
    return [
        Check(
            name,
            True,
            f"{why}; with {settings_text} outputs show unchecked, marked as such",
            fix,
            warning=True,
        )
    ]


async def _ollama_checks(backend: RoutingBackend, pair: ModelPair | None) -> list[Check]:
    try:
        version = await backend.ollama.version()
    except BackendError as exc:
        return [Check("ollama", False, str(exc), "start Ollama or point TWINBOT_OLLAMA_HOST at it")]
    checks = [Check("ollama", True, f"version {version} at {backend.ollama.host}")]
    pulled, _ = await pull_status(backend.ollama)
    for tag in (pair.base, pair.instruct) if pair else ():
        ok = pulled is not None and canonical_tag(tag) in pulled
        checks.append(
            Check(f"model {tag}", ok, "pulled" if ok else "not pulled", f"ollama pull {tag}")
        )
    return checks


async def _openai_checks(backend: RoutingBackend, pair: ModelPair) -> list[Check]:
    checks = []
    if pair.api_key_env and api_key_from_env(pair.api_key_env) is None:
        checks.append(
            Check(
                f"api key {pair.api_key_env}",
                False,
                "not set",
                f"set {pair.api_key_env} in twinbot's environment or .env",
            )
        )
    listed: dict[str, set[str] | None] = {}
    for role in Role:
        endpoint = pair.endpoint(role) or ""
        server = backend.openai_server(endpoint, pair.api_key_env)
        if endpoint not in listed:
            try:
                listed[endpoint] = await server.list_models()
                detail = f"OpenAI-compatible, serves {len(listed[endpoint] or ())} models"
                checks.append(Check(f"server {endpoint}", True, detail))
            except BackendError as exc:
                listed[endpoint] = None
                fix = f"start the server, or fix pair {pair.name!r} in your pairs.toml"
                checks.append(Check(f"server {endpoint}", False, str(exc), fix))
        models = listed[endpoint]
        if models is not None:
            tag = pair.tag(role)
            ok = tag in models
            checks.append(
                Check(
                    f"model {tag}",
                    ok,
                    f"served at {endpoint}" if ok else f"not served at {endpoint}",
                    f"start the engine at {endpoint} with {tag}, or fix the pair's {role} tag",
                )
            )
    return checks


# The templates under which Ollama's /v1/completions passes a prompt through unchanged.
RAW_TEMPLATES = ("{{ .Prompt }}", "{{.Prompt}}")


async def ollama_template(endpoint: str, tag: str, connect_timeout: float) -> str | None:
    """The template Ollama applies to `tag`, when `endpoint` is Ollama's own /v1; else None."""
    root = endpoint.rstrip("/").removesuffix("/v1")
    try:
        async with httpx.AsyncClient(base_url=root, timeout=connect_timeout) as client:
            version = await client.get("/api/version")
            if version.status_code != 200 or "version" not in version.json():
                return None  # vLLM, SGLang, llama.cpp: their completions are raw
            shown = await client.post("/api/show", json={"model": tag})
            if shown.status_code != 200:
                return None  # the model check above already names a missing tag
            return str(shown.json().get("template") or "")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None


async def _raw_base_check(pair: ModelPair, connect_timeout: float) -> list[Check]:
    """Ollama's /v1/completions applies the model's template (vLLM's and SGLang's do not): a
    base tag served there is called raw only if its template is `{{ .Prompt }}`."""
    template = await ollama_template(pair.endpoint(Role.BASE) or "", pair.base, connect_timeout)
    if template is None:
        return []
    name = f"raw base {pair.base}"
    if template.strip() in RAW_TEMPLATES:
        return [Check(name, True, "Ollama's /v1/completions, template {{ .Prompt }}: raw")]
    shown = " ".join(template.split())
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return [
        Check(
            name,
            False,
            f"Ollama's /v1/completions applies this tag's template ({shown}), so the base "
            "model is not called raw",
            'make it an Ollama pair (drop backend = "openai": twinbot then calls /api/generate '
            "with raw: true), or create a tag whose Modelfile says TEMPLATE {{ .Prompt }}",
        )
    ]
