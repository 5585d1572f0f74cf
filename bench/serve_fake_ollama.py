"""Serve the fake Ollama in its own process, streaming at a steady pace; prints its URL."""

from __future__ import annotations

import argparse
import asyncio

from tests.fakes.ollama_fake import OllamaFake, Script


async def serve(
    base: str, instruct: str, tokens: int, base_tps: float, instruct_tps: float
) -> None:
    async with OllamaFake(models={base, instruct}) as fake:
        words = [f" w{index}" for index in range(tokens)]
        fake.script(base, Script(tokens=words, delay=1 / base_tps, first_delay=0.05))
        fake.script(instruct, Script(tokens=words, delay=1 / instruct_tps, first_delay=0.05))
        print(fake.url, flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="llama3.2:1b-text-q4_K_M")
    parser.add_argument("--instruct", default="llama3.2:1b-instruct-q4_K_M")
    parser.add_argument("--tokens", type=int, default=120)
    parser.add_argument("--base-tps", type=float, default=60.0)
    parser.add_argument("--instruct-tps", type=float, default=40.0)
    args = parser.parse_args()
    asyncio.run(serve(args.base, args.instruct, args.tokens, args.base_tps, args.instruct_tps))


if __name__ == "__main__":
    main()
