"""twinbot's own error types. Each carries a short message for the user that names the fix."""

from __future__ import annotations


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


class BackendBusy(BackendError):
    kind = "busy"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Ollama is busy ({detail}). Try again in a minute.")


class BackendTimeout(BackendError):
    kind = "timeout"

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(
            f"Timed out after {seconds:g} s waiting for {what}. The model may still be loading; "
            "try again, or raise the timeout."
        )


class BackendStreamError(BackendError):
    kind = "stream_error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"The model stopped with an error: {detail}")


class BackendRejected(BackendError):
    """A 4xx that is not 'model not found': our request was wrong for this server."""

    kind = "rejected"

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"Ollama rejected the request ({status}): {detail}")
