"""`mtst encode --precision int8` of the real all-MiniLM-L6-v2 against
SentenceTransformer(...).encode in fp32 on data/sentences.txt, both test splits and the edge
cases, per sentence by cosine: on the machine's own int8 path, with the ISA capped at
AVX512-VNNI (ONEDNN_MAX_CPU_ISA: the path of AVX-512 CPUs without AMX, where the machine has
more), at AVX512_CORE (AVX-512 without VNNI) and at AVX2 (the last two: mtst's own exact
16-bit product kernel with 8-bit weights, in zmm and in ymm). Bounds on every path: min 0.99
and mean 0.997."""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import mtst_binary, write_jsonl_texts

MEAN_COSINE = 0.997
MIN_COSINE = 0.99
PATHS = {"native": {},
         "forced_avx512_vnni": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI",
                                "DNNL_MAX_CPU_ISA": "AVX512_CORE_VNNI"},
         "forced_avx512_core": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE",
                                "DNNL_MAX_CPU_ISA": "AVX512_CORE"},
         "forced_avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2"}}


def run(args, env_extra, stdin=None):
    env = dict(os.environ, **env_extra)
    proc = subprocess.run([mtst_binary(), *map(str, args)], input=stdin, capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, f"mtst {' '.join(map(str, args))} failed:\n{proc.stderr}"
    return proc


@pytest.mark.parametrize("path", sorted(PATHS))
def test_int8_cosine_to_sentence_transformers(model_dir, texts, reference, tmp_path, path):
    env = PATHS[path]
    probe = subprocess.run([mtst_binary(), "encode", "--model", str(model_dir), "--precision",
                            "int8"], input="probe\n", capture_output=True, text=True,
                           env=dict(os.environ, **env))
    if probe.returncode != 0:
        assert "precision int8 is not available on this CPU" in probe.stderr, probe.stderr
        pytest.skip(f"{path}: this CPU has no exact int8 matmul; mtst refused with its message")
    (tmp_path / "one.txt").write_text("probe\n")
    bench = run(["bench", "encode", "--model", model_dir, "--input", tmp_path / "one.txt",
                 "--precision", "int8", "--seconds", 0], env)
    kernels = json.loads(bench.stdout)["kernels"]
    inputs = write_jsonl_texts(tmp_path / "texts.jsonl", texts)
    out = tmp_path / "e.npy"
    run(["encode", "--model", model_dir, "--input", inputs, "--output", out, "--threads", 2,
         "--precision", "int8"], env)
    got = np.load(out)
    assert got.shape == reference.shape
    cos = (got * reference).sum(1) / (np.linalg.norm(got, axis=1) *
                                      np.linalg.norm(reference, axis=1) + 1e-12)
    print(f"\nint8 {path} ({kernels}): {len(got)} texts, min cosine {cos.min():.5f}, "
          f"mean {cos.mean():.6f}")
    assert cos.mean() >= MEAN_COSINE
    assert cos.min() >= MIN_COSINE
