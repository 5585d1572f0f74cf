"""The instruct model's chat written out as the raw text its template makes of it.

The lens puts text after the start of the instruct twin's answer (a position in the answer, or
the base twin reading the instruct twin's exact input for the token shift). Ollama's /api/chat
cannot do that: with a trailing assistant message most templates (chatml.gotmpl among them)
close that message and open a new turn rather than continue it. So the lens writes the prompt
out itself, for the template families it knows, and sends it raw to /api/generate; a template
it does not know is refused with a message naming it, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.engine.lens_link import LensUnsupported, OllamaLink

# Each family: a marker that identifies the template, and the text for (system, user prompt).
_FAMILIES: dict[str, tuple[str, Callable[[str, str], str]]] = {
    "ChatML": (
        "<|im_start|>",
        lambda system, prompt: (
            (f"<|im_start|>system\n{system}<|im_end|>\n" if system else "")
            + f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
        ),
    ),
    "Llama 3": (
        "<|start_header_id|>",
        lambda system, prompt: (
            (f"<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>" if system else "")
            + f"<|start_header_id|>user<|end_header_id|>\n\n{prompt}<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        ),
    ),
}


def write_chat(template: str, system: str, prompt: str, model: str) -> str:
    """The text `template` makes of one user message (and the Modelfile's system message)."""
    for marker, write in _FAMILIES.values():
        if marker in template:
            return write(system, prompt)
    known = " and ".join(_FAMILIES)
    raise LensUnsupported(
        f"The chat template of `{model}` is not one the lens can write out itself ({known} "
        "are), so it cannot look inside that model's answer; the first position (no --at or "
        "--after) works with any template."
    )


async def chat_text(link: OllamaLink, model: str, prompt: str) -> str:
    """The raw text `model` reads for `prompt` as one user message, up to its answer."""
    shown = await link.call(model, lambda: link.client.show(model))
    return write_chat(shown.template or "", system_of(shown.modelfile or ""), prompt, model)


# The client (0.6.3) drops /api/show's `system`; the Modelfile holds it as SYSTEM """...""".
_SYSTEM = re.compile(r'^SYSTEM[ \t]+(?:"""(.*?)"""|(.*?))[ \t]*$', re.MULTILINE | re.DOTALL)


def system_of(modelfile: str) -> str:
    """The Modelfile's system message (Ollama puts it first when the chat has none)."""
    found = _SYSTEM.search(modelfile)
    if found is None:
        return ""
    return found.group(1) if found.group(1) is not None else found.group(2).strip('"')
