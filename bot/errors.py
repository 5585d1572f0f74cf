"""twinbot's own error types. Each carries a short message for the user that names the fix."""

from __future__ import annotations

import re


class TwinbotError(Exception):
    """Base of every error twinbot expects; `str(err)` is safe to show a user."""

    kind = "error"


class InputError(TwinbotError):
    """The user's prompt or options cannot be used as given."""

    kind = "bad_input"


class PromptsError(TwinbotError):
    """A file in prompts/ is broken; the message names the file, the entry and the problem."""

    kind = "prompts"


class BackendError(TwinbotError):
    """A model server failed for one side of a comparison."""

    kind = "backend"


class BackendUnreachable(BackendError):
    kind = "unreachable"

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Cannot reach Ollama at {host}. Is it running (`ollama serve`)? "
            "Set TWINBOT_OLLAMA_HOST if it listens elsewhere."
        )
        self.host = host


class ModelNotPulled(BackendError):
    kind = "model_not_pulled"

    def __init__(self, model: str) -> None:
        super().__init__(
            f"The model `{model}` is not pulled on the Ollama server: run `ollama pull {model}`."
        )
        self.model = model


def without_retry_advice(detail: str) -> str:
    """A server's words without its own "please try again": our message says it once."""
    cut = re.sub(r"[,;.]?\s*please try again[.,;]?\s*", "; ", detail, flags=re.IGNORECASE)
    return cut.strip(" .;")


class BackendBusy(BackendError):
    kind = "busy"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Ollama is busy ({without_retry_advice(detail)}). Try again in a minute.")


class BackendTimeout(BackendError):
    kind = "timeout"

    def __init__(self, what: str, seconds: float, cause: str | None = None) -> None:
        # Without a known cause: a first token that never came most often means a model still
        # loading; a whole answer that ran out of time means a long answer (it was writing).
        if cause is None:
            cause = (
                "the model may still be loading; try again, or raise TWINBOT_FIRST_TOKEN_TIMEOUT"
                if what == "the first token"
                else "the model was still writing; ask for fewer tokens, or raise "
                "TWINBOT_TOTAL_TIMEOUT"
            )
        super().__init__(f"Timed out after {seconds:g} s waiting for {what}: {cause}.")


class BackendStreamError(BackendError):
    """The answer broke off or came back in a form twinbot cannot read; the message says how."""

    kind = "stream_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ModelError(BackendStreamError):
    """The server reported an error of the model's own, mid-answer."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"The model stopped with an error: {detail}")


class RunnerDied(BackendStreamError):
    """Ollama's process running the model died (killed, out of memory, crashed)."""

    kind = "runner_died"

    def __init__(self, model: str, detail: str) -> None:
        super().__init__(
            f"Ollama's process running `{model}` died ({detail.strip()}). The server's log "
            "says why (often memory); the next comparison starts it again."
        )


class ConnectionLost(BackendStreamError):
    """The connection closed before the answer's last chunk: the server stopped or restarted."""

    kind = "connection_lost"

    def __init__(self, server: str) -> None:
        super().__init__(
            f"The connection to {server} closed mid-answer: the server stopped or restarted. "
            "The text so far is kept."
        )


class BackendRejected(BackendError):
    """A 4xx that is not 'model not found' (or Ollama's 500 for a wrong option type): our
    request was wrong for this server."""

    kind = "rejected"

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"Ollama rejected the request ({status}): {detail}")
