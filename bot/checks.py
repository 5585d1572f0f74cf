"""`twinbot doctor` and `twinbot pairs`: what is wrong with this install, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.backend import Backend, canonical_tag
from bot.catalog import FRAMINGS_FILE, PAIRS_FILE, load_catalog
from bot.config import Settings
from bot.demos import DEMOS_FILE, load_demos
from bot.domain import BackendKind, ModelPair, Role
from bot.errors import BackendError, TwinbotError
from bot.openai_backend import api_key_from_env
from bot.prompt_files import describe_sources, is_builtin
from bot.routing import RoutingBackend
from bot.runtime import make_backend, open_store


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


async def pull_status(backend: Backend) -> tuple[set[str] | None, str | None]:
    """The pulled tags, or None and why they could not be listed."""
    try:
        return await backend.list_models(), None
    except BackendError as exc:
        return None, str(exc)


async def run_checks(settings: Settings) -> list[Check]:
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
        else:
            checks.extend(await _ollama_checks(backend, pair))
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
    return checks


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
