"""`mtst encode` of the real all-MiniLM-L6-v2 equals SentenceTransformer(...).encode on
data/sentences.txt, both test splits and the edge cases: fp32 within 1e-5 max abs at batch
sizes 1, 32 and 256; bf16 within cosine 0.999 (min). The .npy files are read by numpy."""
import subprocess

import numpy as np
import pytest

from conftest import (edge_case_texts, max_abs, min_cosine, mtst_binary, run_mtst,
                      sentences_txt, write_jsonl_texts)

FP32_MAX_ABS = 1e-5
BF16_MIN_COSINE = 0.999


@pytest.fixture(scope="module")
def input_file(tmp_path_factory, texts):
    return write_jsonl_texts(tmp_path_factory.mktemp("emb") / "texts.jsonl", texts)


def mtst_encode(model_dir, input_file, out, *options):
    run_mtst("encode", "--model", model_dir, "--input", input_file, "--output", out,
             "--threads", 2, *options)
    return np.load(out)


@pytest.mark.parametrize("batch_size", [1, 32, 256])
def test_fp32_equals_sentence_transformers(model_dir, input_file, reference, tmp_path,
                                           batch_size):
    got = mtst_encode(model_dir, input_file, tmp_path / "e.npy", "--batch-size", batch_size)
    assert got.dtype == np.float32 and got.shape == reference.shape
    diff = max_abs(got, reference)
    print(f"\nfp32 batch {batch_size}: {len(got)} texts, max abs diff {diff:.3g}, "
          f"min cosine {min_cosine(got, reference):.7f}")
    assert diff <= FP32_MAX_ABS


def test_bf16_cosine_to_sentence_transformers(model_dir, input_file, reference, tmp_path):
    probe = subprocess.run([mtst_binary(), "encode", "--model", str(model_dir), "--precision",
                            "bf16"], input="probe\n", capture_output=True, text=True)
    if probe.returncode != 0:
        # mtst refuses bf16 where oneDNN has no bf16 kernels (AVX2-only CPUs): one message.
        assert "precision bf16 is not available on this CPU" in probe.stderr, probe.stderr
        pytest.skip("this CPU has no bf16 kernels; mtst refused bf16 with its message")
    got = mtst_encode(model_dir, input_file, tmp_path / "e.npy", "--batch-size", 32,
                      "--precision", "bf16")
    assert got.shape == reference.shape
    cos = min_cosine(got, reference)
    print(f"\nbf16 batch 32: {len(got)} texts, min cosine {cos:.6f}, "
          f"max abs diff {max_abs(got, reference):.3g}")
    assert cos >= BF16_MIN_COSINE


def test_edge_cases_one_by_one(model_dir, st_model, tmp_path):
    # Each edge case alone (batch of one, no padding anywhere), so a failure names its text.
    for i, text in enumerate(edge_case_texts()):
        path = write_jsonl_texts(tmp_path / f"{i}.jsonl", [text])
        got = mtst_encode(model_dir, path, tmp_path / f"{i}.npy")
        want = st_model.encode([text], convert_to_numpy=True)
        assert max_abs(got, want) <= FP32_MAX_ABS, f"edge case {text[:60]!r}"


@pytest.mark.parametrize("suffix", [".npy", ".jsonl"])
def test_empty_input_gives_empty_result(model_dir, tmp_path, suffix):
    (tmp_path / "empty.txt").write_text("")
    out = tmp_path / f"e{suffix}"
    run_mtst("encode", "--model", model_dir, "--input", tmp_path / "empty.txt", "--output", out)
    if suffix == ".npy":
        got = np.load(out)
        assert got.shape == (0, 384) and got.dtype == np.float32
    else:
        assert out.read_text() == ""


def test_shards_read_by_numpy_concatenate_to_sentence_transformers(model_dir, input_file,
                                                                    reference, tmp_path):
    # `--shard K/N` over the .jsonl of every text: numpy reads each shard's .npy (its header
    # was rewritten in place with the final row count); in shard order they are the whole.
    parts = [mtst_encode(model_dir, input_file, tmp_path / f"s{k}.npy", "--shard", f"{k}/3")
             for k in range(3)]
    assert all(len(p) > 0 for p in parts)
    got = np.concatenate(parts)
    assert got.shape == reference.shape
    diff = max_abs(got, reference)
    print(f"\n3 shards of {[len(p) for p in parts]} rows: max abs diff {diff:.3g}")
    assert diff <= FP32_MAX_ABS


def test_a_huge_line_equals_sentence_transformers(model_dir, st_model, tmp_path):
    # sentence-transformers tokenizes the whole 5 MB text and truncates to 256 tokens; mtst
    # stops reading it once 256 tokens are known. The embeddings must not tell them apart.
    words = sentences_txt()
    text = " ".join(words[i % len(words)] for i in range(90000))[:5_000_000]
    path = tmp_path / "huge.txt"
    path.write_text(text + "\n" + words[0] + "\n")
    got = mtst_encode(model_dir, path, tmp_path / "huge.npy")
    want = st_model.encode([text, words[0]], convert_to_numpy=True)
    diff = max_abs(got, want)
    print(f"\n{len(text)} character line: max abs diff {diff:.3g}")
    assert diff <= FP32_MAX_ABS
