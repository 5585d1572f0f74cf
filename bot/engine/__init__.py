"""The engine: model servers (Ollama, OpenAI-compatible), the prompts catalogue, and running
both sides of a comparison at once."""
