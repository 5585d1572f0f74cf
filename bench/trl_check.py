"""Check an export against TRL's own data utilities (not a twinbot dependency: run it with a
Python that has `trl`, `transformers` and `datasets`, no torch needed).

    python -m venv /tmp/trl && /tmp/trl/bin/pip install trl==1.16.0 --no-deps \\
        datasets==5.2.0 transformers jinja2
    .venv/bin/python -m bench.dataset_bench --out /tmp/export
    /tmp/trl/bin/python bench/trl_check.py /tmp/export

For each config of the export: TRL's `is_conversational` must say conversational for `dpo` and
`kto` and standard for the `_framed` ones; `maybe_apply_chat_template` with a ChatML template
must give each prompt the user turn and the generation prompt, and each text its assistant turn
(the `_framed` rows must come back untouched); KTO's KL completions, rotated within each batch
as KTOTrainer does it, must never come from the row's own prompt. Prints what it checked.
"""

from __future__ import annotations

import sys

import datasets
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast
from trl import is_conversational, maybe_apply_chat_template, unpair_preference_dataset

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tokenizer() -> PreTrainedTokenizerFast:
    """A tokenizer made here (nothing downloaded): only its chat template is used."""
    words = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    return PreTrainedTokenizerFast(tokenizer_object=words, chat_template=CHATML)


def check_chat(
    rows: datasets.Dataset, texts: tuple[str, ...], tok: PreTrainedTokenizerFast
) -> None:
    for row in rows:
        assert is_conversational(row), row["comparison_id"]
        applied = maybe_apply_chat_template(row, tok)
        user = row["prompt"][0]["content"]
        assert applied["prompt"] == f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
        for name in texts:
            assert applied[name] == row[name][0]["content"] + "<|im_end|>\n", name


def check_framed(rows: datasets.Dataset, tok: PreTrainedTokenizerFast) -> None:
    for row in rows:
        assert not is_conversational(row), row["comparison_id"]
        assert maybe_apply_chat_template(row, tok) == row  # standard rows pass through
        assert row["prompt"] == row["framed_prompt"]


def kl_own(rows: datasets.Dataset, batch_size: int) -> int:
    """KTOTrainer's KL completions: rotated by one within each batch, read in order."""

    def rotate(batch: dict) -> dict:
        batch["kl_prompt"] = [batch["user_prompt"][-1], *batch["user_prompt"][:-1]]
        return batch

    rotated = rows.map(rotate, batched=True, batch_size=batch_size)
    key = lambda text: " ".join(text.split()).casefold()  # noqa: E731
    return sum(
        key(a) == key(b) for a, b in zip(rotated["user_prompt"], rotated["kl_prompt"], strict=True)
    )


def main(folder: str) -> None:
    tok = tokenizer()
    names = datasets.get_dataset_config_names(folder)
    print(f"configs: {', '.join(names)}")
    if "dpo" in names:
        dpo = datasets.load_dataset(folder, "dpo", split="train")
        check_chat(dpo, ("chosen", "rejected"), tok)
        unpaired = unpair_preference_dataset(dpo)
        print(f"dpo: {len(dpo)} rows conversational, chat template applied; unpaired by TRL "
              f"into {len(unpaired)} KTO rows")  # fmt: skip
    if "dpo_framed" in names:
        framed = datasets.load_dataset(folder, "dpo_framed", split="train")
        check_framed(framed, tok)
        print(f"dpo_framed: {len(framed)} rows standard, passed through untouched")
    if "kto" in names:
        kto = datasets.load_dataset(folder, "kto", split="train")
        check_chat(kto, ("completion",), tok)
        own = {size: kl_own(kto, size) for size in (2, 4, 8, 16, 32, 64)}
        print(f"kto: {len(kto)} rows conversational; rows whose KL completion is their own "
              f"prompt, by batch size: {own}")  # fmt: skip
        assert set(own.values()) == {0}
    if "kto_framed" in names:
        framed = datasets.load_dataset(folder, "kto_framed", split="train")
        check_framed(framed, tok)
        print(f"kto_framed: {len(framed)} rows standard, passed through untouched")
    print("TRL accepts every config")


if __name__ == "__main__":
    main(sys.argv[1])
