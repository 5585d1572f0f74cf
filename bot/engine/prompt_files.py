"""Where each prompts file comes from: the user's own folder first, the built-in copy second.

The built-in files ship inside the installed package (the top-level `prompts/` folder is package
data), so a wheel works without a checkout. TWINBOT_PROMPTS_DIR names a folder of the user's own:
each file there replaces the built-in file of the same name, so a folder holding only
`pairs.toml` still gets the built-in framings and demos.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import PromptsError

BUILTIN_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


def is_builtin(directory: Path) -> bool:
    return directory.resolve() == BUILTIN_PROMPTS_DIR


def prompt_file(directory: Path, name: str) -> Path:
    """The file `name` to read: from `directory` when it has one, else the built-in copy."""
    if not directory.is_dir():
        if is_builtin(directory):
            raise PromptsError(
                f"the built-in prompts are missing from this install ({directory}): "
                "reinstall twinbot, or set TWINBOT_PROMPTS_DIR to a folder of your own"
            )
        raise PromptsError(
            f"TWINBOT_PROMPTS_DIR: {directory} is not a folder; "
            "point it at your own prompts folder, or unset it to use the built-in prompts"
        )
    own = directory / name
    return own if own.exists() else BUILTIN_PROMPTS_DIR / name


def describe_sources(directory: Path, names: tuple[str, ...]) -> str:
    """Where the files come from, in a few words: "built in" or which are the user's."""
    if is_builtin(directory):
        return "built in"
    own = [name for name in names if (directory / name).exists()]
    if not own:
        return f"all built in ({directory} holds none of {', '.join(names)})"
    return f"{', '.join(own)} from {directory}, the rest built in"
