"""The Python package (`import mtst`, installed in the references venv by
scripts/install_python.sh): SentenceEncoder.encode equals sentence-transformers within 1e-5 on
data/sentences.txt, both test splits and the edge cases at batch sizes 1, 32 and 256, for a
list, single strings and a generator; equals the package's `mtst encode` bit for bit; bad input
raises the documented exception; two threads really run at once."""
import os
import subprocess
import threading
import time

import numpy as np
import pytest
import torch

from conftest import edge_case_texts, max_abs, write_jsonl_texts

FP32_MAX_ABS = 1e-5


def test_installed_package_is_this_checkout():
    import mtst
    assert os.path.realpath(mtst._mtst.source_dir) == os.path.realpath(
        os.environ["MTST_SOURCE_DIR"]), (
        f"the mtst package in this venv was built from {mtst._mtst.source_dir}: "
        "run scripts/install_python.sh")


@pytest.fixture(scope="module")
def encoder(model_dir):
    import mtst
    return mtst.SentenceEncoder(model_dir, threads=2)


@pytest.mark.parametrize("batch_size", [1, 32, 256])
def test_list_and_generator_equal_sentence_transformers(encoder, texts, reference, batch_size):
    for kind, source in (("list", texts), ("generator", (t for t in texts))):
        got = encoder.encode(source, batch_size=batch_size)
        assert isinstance(got, np.ndarray) and got.dtype == np.float32
        assert got.shape == reference.shape == (len(texts), 384)
        diff = max_abs(got, reference)
        print(f"\npython encode, {kind}, batch {batch_size}: {len(texts)} texts, "
              f"max abs diff {diff:.3g}")
        assert diff <= FP32_MAX_ABS


def test_single_strings_equal_sentence_transformers(encoder, texts, reference, st_model):
    worst = 0.0
    for i, text in enumerate(texts):
        got = encoder.encode(text)
        assert got.shape == (384,)
        worst = max(worst, max_abs(got, reference[i]))
        assert worst <= FP32_MAX_ABS, f"text {i} {text[:60]!r}"
    print(f"\npython encode, one string at a time: {len(texts)} texts, max abs diff {worst:.3g}")
    assert st_model.encode(texts[0]).shape == (384,)


def test_tensor_and_list_outputs(encoder, texts, reference):
    got = encoder.encode(texts[:100], convert_to_tensor=True)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    assert max_abs(got.numpy(), reference[:100]) <= FP32_MAX_ABS
    rows = encoder.encode(texts[:3], convert_to_numpy=False)
    assert isinstance(rows, list) and all(r.shape == (384,) for r in rows)
    assert torch.is_tensor(encoder.encode("one", convert_to_numpy=False))


def test_generator_streams_in_chunks(encoder):
    # More texts than one native chunk, produced lazily: the result has every row in order.
    import mtst
    n = mtst._mtst.STREAM_CHUNK + 5
    got = encoder.encode(f"sentence number {i}" for i in range(n))
    assert got.shape == (n, 384)
    assert max_abs(got[-5:], encoder.encode([f"sentence number {i}" for i in range(n - 5, n)])) \
        == 0.0


def test_equals_the_cli_bit_for_bit(encoder, texts, tmp_path):
    import mtst._cli
    path = write_jsonl_texts(tmp_path / "texts.jsonl", texts)
    out = tmp_path / "e.npy"
    subprocess.run([mtst._cli.binary(), "encode", "--model", encoder.model_dir, "--input",
                    str(path), "--output", str(out), "--threads", "2"], check=True)
    cli = np.load(out)
    got = encoder.encode(texts)
    assert cli.shape == got.shape
    assert np.array_equal(cli, got), f"max abs diff {max_abs(cli, got):.3g}"


def test_tokenize_equals_hugging_face(encoder, st_model):
    texts = edge_case_texts()
    got = encoder.tokenize(texts)
    want = st_model.tokenize(texts)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert torch.equal(got[key], want[key]), key
    assert encoder.get_sentence_embedding_dimension() == 384
    assert encoder.max_seq_length == st_model.max_seq_length == 256


def test_max_seq_length_is_settable_as_in_sentence_transformers(encoder, st_model):
    long_text = " ".join(["word"] * 300)
    try:
        encoder.max_seq_length = 16
        st_model.max_seq_length = 16
        assert max_abs(encoder.encode(long_text), st_model.encode(long_text)) <= FP32_MAX_ABS
        with pytest.raises(ValueError, match="positions"):
            encoder.max_seq_length = 100000
    finally:
        encoder.max_seq_length = 256
        st_model.max_seq_length = 256


def closed_generator():
    gen = (t for t in ["a", "b"])
    gen.close()
    return gen


def failing_generator():
    yield "fine"
    raise RuntimeError("the source failed")


def test_bad_input_raises_the_documented_exception(encoder, model_dir):
    import mtst
    cases = [
        (None, TypeError), (b"bytes", TypeError), ([b"bytes"], TypeError), (5, TypeError),
        (["ok", None], TypeError), ([["nested"]], TypeError), (["\ud800 lone surrogate"], ValueError),
    ]
    for value, error in cases:
        with pytest.raises(error):
            encoder.encode(value)
    with pytest.raises(RuntimeError, match="the source failed"):
        encoder.encode(failing_generator())
    for batch_size, error in ((0, ValueError), (-1, ValueError), (2**70, ValueError),
                              (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error):
            encoder.encode(["x"], batch_size=batch_size)
    assert encoder.encode([]).shape == (0, 384)
    assert encoder.encode(closed_generator()).shape == (0, 384)
    assert encoder.encode([""]).shape == (1, 384)
    assert encoder.encode(["x"], batch_size=10**9).shape == (1, 384)
    with pytest.raises(FileNotFoundError):
        mtst.SentenceEncoder(str(model_dir) + "-missing")
    with pytest.raises(mtst.Error, match="config.json"):
        mtst.SentenceEncoder(os.environ["MTST_SOURCE_DIR"])
    with pytest.raises(mtst.Error, match="unknown precision"):
        mtst.SentenceEncoder(model_dir, precision="fp64")
    with pytest.raises(mtst.Error, match="device"):
        mtst.SentenceEncoder(model_dir, device="tpu")
    with pytest.raises(TypeError):
        mtst.SentenceEncoder(None)
    with pytest.raises(ValueError):
        mtst.SentenceEncoder(model_dir, threads=0)
    assert issubclass(mtst.Error, ValueError)


def test_two_threads_encode_at_once(model_dir, texts):
    import mtst
    work = texts[:1200]
    encoders = [mtst.SentenceEncoder(model_dir, threads=1) for _ in range(2)]
    for e in encoders:
        e.encode(work[:64])  # warm-up: primitives made, memory touched
    start = time.perf_counter()
    alone = [e.encode(work) for e in encoders]
    sequential = time.perf_counter() - start
    results = [None, None]

    def run(i):
        results[i] = encoders[i].encode(work)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    parallel = time.perf_counter() - start
    print(f"\ntwo encoders of threads=1: one after the other {sequential:.2f} s, "
          f"at once {parallel:.2f} s ({sequential / parallel:.2f}x)")
    for got, want in zip(results, alone):
        assert np.array_equal(got, want)
    if os.cpu_count() >= 2:
        assert parallel < 0.75 * sequential


def test_readme_example_runs_as_written(capsys):
    import re
    from pathlib import Path
    source = Path(os.environ["MTST_SOURCE_DIR"])
    readme = (source / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert len(code.strip().splitlines()) <= 5
    cwd = os.getcwd()
    try:
        os.chdir(source)
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out.startswith("(2, 384)")
