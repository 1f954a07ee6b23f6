"""Token ids of `mtst tokenize` equal the Hugging Face fast tokenizer of the real
all-MiniLM-L6-v2, for every text of every bundled split and data/sentences.txt (plus the
edge cases), without truncation and truncated at 256 and 128 tokens."""
import json

import pytest
from transformers import AutoTokenizer

from conftest import (csv_texts, edge_case_texts, run_mtst, sentences_txt, split_files,
                      write_jsonl_texts)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    texts = [t for path in split_files() for t in csv_texts(path)]
    texts += sentences_txt() + edge_case_texts()
    path = write_jsonl_texts(tmp_path_factory.mktemp("tok") / "texts.jsonl", texts)
    return texts, path


@pytest.mark.parametrize("max_length", [None, 256, 128])
def test_ids_equal_hf_fast_tokenizer(corpus, model_dir, max_length):
    texts, path = corpus
    hf = AutoTokenizer.from_pretrained(str(model_dir))
    assert hf.is_fast
    if max_length is None:
        expected = hf(texts, add_special_tokens=True, truncation=False)["input_ids"]
        out = run_mtst("tokenize", "--model", model_dir, "--input", path).stdout
    else:
        expected = hf(texts, add_special_tokens=True, truncation=True,
                      max_length=max_length)["input_ids"]
        out = run_mtst("tokenize", "--model", model_dir, "--input", path,
                       "--max-seq-length", max_length).stdout
    got = [json.loads(line)["ids"] for line in out.splitlines()]
    assert len(got) == len(texts)
    differing = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    truncated = sum(1 for e in expected if max_length and len(e) == max_length)
    print(f"\ntokenizer parity (max_length={max_length}): {len(texts)} texts compared, "
          f"{len(differing)} differ, {sum(map(len, expected))} tokens, "
          f"{truncated} at the length limit")
    for i in differing[:5]:
        print(f"  text {i}: {texts[i]!r}\n    mtst {got[i]}\n    hf   {expected[i]}")
    assert not differing
