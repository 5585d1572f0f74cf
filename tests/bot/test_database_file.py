"""Where the database lives: the user data folder by default; a named folder is never invented."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.runtime import open_store
from bot.store.sqlite import Store, StoreError
from tests.bot.test_cli import twinbot
from tests.vocabularies import VOCABULARIES


async def test_the_default_is_the_user_data_folder_made_private_on_first_use(tmp_path: Path):
    settings = load_settings()  # XDG_DATA_HOME points into tmp_path (conftest)
    expected = tmp_path / "xdg-data" / "twinbot" / "twinbot.sqlite3"
    assert settings.database_path == expected

    async with await open_store(settings) as store:
        assert await store.schema_version() > 0
    assert expected.is_file()
    assert stat.S_IMODE(expected.parent.stat().st_mode) == 0o700
    assert not (tmp_path / "twinbot.sqlite3").exists()  # not the current folder


async def test_a_named_folder_that_does_not_exist_is_an_error_not_created(tmp_path: Path):
    missing = tmp_path / "nonexistent" / "deeper"
    with pytest.raises(StoreError) as caught:
        await Store.open(missing / "twinbot.sqlite3", vocabularies=VOCABULARIES)
    assert str(caught.value) == (
        f"Cannot open the database {missing / 'twinbot.sqlite3'}: the folder {missing} does not "
        "exist; create it, or set TWINBOT_DATABASE_PATH to a file in a folder that does"
    )
    assert not (tmp_path / "nonexistent").exists()


async def test_the_command_line_says_so_in_one_line(tmp_path: Path):
    db = tmp_path / "nonexistent" / "twinbot.sqlite3"
    result = await twinbot("stats", host="http://x", db=db)
    assert result.code == 2
    assert result.err.startswith(f"twinbot: Cannot open the database {db}: the folder")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert not db.parent.exists()
