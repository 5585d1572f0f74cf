"""`twinbot doctor` and `twinbot pairs`: what is wrong with this install, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.backend import Backend, canonical_tag
from bot.catalog import load_catalog
from bot.config import Settings
from bot.errors import BackendError, TwinbotError
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

    backend = make_backend(settings)
    try:
        try:
            version = await backend.version()
            checks.append(Check("ollama", True, f"version {version} at {backend.host}"))
        except BackendError as exc:
            checks.append(
                Check("ollama", False, str(exc), "start Ollama or point TWINBOT_OLLAMA_HOST at it")
            )
        else:
            pulled, _ = await pull_status(backend)
            pair = catalog.pairs.get(settings.default_pair)
            for tag in (pair.base, pair.instruct) if pair else ():
                ok = pulled is not None and canonical_tag(tag) in pulled
                checks.append(
                    Check(
                        f"model {tag}", ok, "pulled" if ok else "not pulled", f"ollama pull {tag}"
                    )
                )
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
