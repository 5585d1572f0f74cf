"""The fake Ollama's toy language model: tokens follow the text the model reads (the raw prompt,
or the chat through its template), sampled with the request's temperature and seed."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import ollama
import pytest

from tests.fakes.ollama_fake import CHATML_TEMPLATE, END_OF_TEXT, OllamaFake, Script, suffix_model

ln = math.log
MODEL = "toy:1b"
TOY = suffix_model(
    {
        "Count:": [(" 1", ln(0.9)), (" one", ln(0.1))],
        " 1": [(",", ln(0.8)), (END_OF_TEXT, ln(0.2))],
        ",": [(" 2", ln(1.0))],
        "assistant\n": [("Sure", ln(0.6)), ("Hi", ln(0.4))],
        "assistant\nSure": [("!", ln(1.0))],
        # 25 alternatives: only 20 can be listed.
        "Many:": [(f" {n}", ln(0.04)) for n in range(25)],
    }
)


@pytest.fixture
async def client() -> AsyncIterator[tuple[OllamaFake, ollama.AsyncClient]]:
    async with OllamaFake(models={MODEL}, version="0.24.0") as fake:
        fake.script(MODEL, Script(next_token=TOY))
        async with ollama.AsyncClient(host=fake.url) as api:
            yield fake, api


async def test_greedy_tokens_follow_the_raw_prompt_and_end_of_text_is_not_sent(client):
    _, api = client
    answer = await api.generate(
        model=MODEL, prompt="Count:", raw=True, stream=False, logprobs=True, top_logprobs=2,
        options={"temperature": 0},
    )  # fmt: skip
    assert answer.response == " 1, 2"
    assert [e.token for e in answer.logprobs] == [" 1", ",", " 2"]
    assert [(a.token, round(math.exp(a.logprob), 2)) for a in answer.logprobs[0].top_logprobs] == [
        (" 1", 0.9),
        (" one", 0.1),
    ]
    assert answer.eval_count == 4  # the end-of-text token is counted, never written


async def test_a_prompt_ending_inside_an_answer_gets_the_distribution_at_that_point(client):
    _, api = client
    answer = await api.generate(
        model=MODEL, prompt="Count: 1", raw=True, stream=False, logprobs=True, top_logprobs=2,
        options={"temperature": 0, "num_predict": 1},
    )  # fmt: skip
    assert [(a.token, round(math.exp(a.logprob), 2)) for a in answer.logprobs[0].top_logprobs] == [
        (",", 0.8),
        (END_OF_TEXT, 0.2),
    ]


async def test_top_logprobs_lists_at_most_what_was_asked_of_a_longer_distribution(client):
    _, api = client
    answer = await api.generate(
        model=MODEL, prompt="Many:", raw=True, stream=False, logprobs=True, top_logprobs=20,
        options={"num_predict": 1, "temperature": 0},
    )  # fmt: skip
    assert len(answer.logprobs[0].top_logprobs) == 20


async def test_chat_reads_the_messages_through_a_chatml_template(client):
    fake, api = client
    fake.templates[MODEL] = CHATML_TEMPLATE
    answer = await api.chat(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=False,
        options={"temperature": 0},
    )  # fmt: skip
    assert answer.message.content == "Sure!"


async def test_a_trailing_assistant_message_is_closed_not_continued_as_chatml_does(client):
    # chatml.gotmpl writes every message with <|im_end|> and opens a new assistant turn, so
    # "Sure" is not continued with "!": the model starts a fresh answer.
    fake, api = client
    fake.templates[MODEL] = CHATML_TEMPLATE
    answer = await api.chat(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure"}],
        stream=False, options={"temperature": 0, "num_predict": 1},
    )  # fmt: skip
    assert answer.message.content == "Sure"


async def test_a_seed_draws_the_same_tokens_and_other_seeds_draw_others(client):
    fake, api = client
    fake.templates[MODEL] = CHATML_TEMPLATE

    async def first(seed: int) -> str:
        answer = await api.chat(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=False,
            options={"temperature": 1.0, "seed": seed, "num_predict": 1},
        )  # fmt: skip
        return answer.message.content

    assert [await first(7) for _ in range(3)] == [await first(7)] * 3
    drawn = {await first(seed) for seed in range(40)}
    assert drawn == {"Sure", "Hi"}
