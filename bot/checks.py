"""`twinbot doctor` and `twinbot pairs`: what is wrong with this install, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.backend import Backend, canonical_tag
from bot.catalog import load_catalog
from bot.config import Settings
from bot.domain import BackendKind, ModelPair, Role
from bot.errors import BackendError, TwinbotError
from bot.openai_backend import api_key_from_env
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
    try:
        catalog = load_catalog(settings.prompts_dir)
    except TwinbotError as exc:
        return [
            *checks,
            Check("prompts", False, str(exc), f"fix the file in {settings.prompts_dir}"),
        ]
    checks.append(
        Check("prompts", True, f"{len(catalog.pairs)} pairs, {len(catalog.framings)} framings")
    )
    for name, known in (
        ("default pair", settings.default_pair in catalog.pairs),
        ("default framing", settings.default_framing in catalog.framings),
    ):
        value = settings.default_pair if name == "default pair" else settings.default_framing
        variable = "TWINBOT_DEFAULT_PAIR" if name == "default pair" else "TWINBOT_DEFAULT_FRAMING"
        checks.append(
            Check(
                name,
                known,
                value,
                "" if known else f"set {variable} to one in {settings.prompts_dir}",
            )
        )

    # The default pair's own servers: Ollama, or the OpenAI-compatible endpoints it names.
    pair = catalog.pairs.get(settings.default_pair)
    backend = make_backend(settings, catalog)
    try:
        if pair is not None and pair.backend is BackendKind.OPENAI:
            checks.extend(await _openai_checks(backend, pair))
            checks.extend(await _raw_base_check(pair, settings.connect_timeout))
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
                fix = f"start the server, or fix pair {pair.name!r} in prompts/pairs.toml"
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
