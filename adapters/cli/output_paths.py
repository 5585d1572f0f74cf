"""Files the command line writes (`stats --chart`, `export -o`, `demo --report`): checked first.

A bad path is found before any work is done, so `demo --report /nowhere/r.html` fails at once
instead of after running every demo; the message names the path and what is wrong with it.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.errors import InputError

STDOUT = "-"


def output_target(
    text: str, *, option: str, allow_stdout: bool = False, is_folder: bool = False
) -> Path | None:
    """The path to write, or None for standard output (`-`, where allowed). With `is_folder`, the
    path is a folder to write files into (made if missing)."""
    if text == STDOUT:
        if allow_stdout:
            return None
        raise InputError(f"{option}: needs a file name; `-` (standard output) is not offered here")
    if not text.strip():
        raise InputError(f"{option}: needs a file name")
    path = Path(text).expanduser()
    folder = path.parent
    if is_folder and path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option} {text}: cannot write in that folder (permission denied)")
        return path
    if path.is_dir():
        raise InputError(f"{option} {text}: is a folder; give a file name inside it")
    if not folder.is_dir():
        raise InputError(f"{option} {text}: the folder {folder} does not exist")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise InputError(f"{option} {text}: the file is not writable")
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option} {text}: cannot create a file in {folder} (permission denied)")
    return path
