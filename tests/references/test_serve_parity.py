"""`mtst serve` on the real all-MiniLM-L6-v2: /embed and /v1/embeddings answer what
SentenceTransformer(...).encode gives for the same texts (fp32, within 1e-5 max abs)."""
import json
import re
import subprocess
import time
import urllib.request

import numpy as np
import pytest

from conftest import DATA_DIR, csv_texts, edge_case_texts, max_abs, mtst_binary, sentences_txt

FP32_MAX_ABS = 1e-5
CLIENT_BATCH = 32  # the server's default --max-client-batch-size


@pytest.fixture(scope="module")
def server(model_dir):
    proc = subprocess.Popen([mtst_binary(), "serve", "--model", str(model_dir), "--port", "0",
                             "--threads", "2", "--auto-truncate"],
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        match = re.search(r"listening on (\S+):(\d+)", line)
        assert match, f"no 'listening on' line from mtst serve: {line!r}"
        base = f"http://127.0.0.1:{match.group(2)}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, "mtst serve exited while loading"
            assert time.monotonic() < deadline, "mtst serve not healthy after 120 s"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        assert r.status == 200
        return json.loads(r.read())


@pytest.fixture(scope="module")
def sample():
    texts = sentences_txt() + edge_case_texts()
    return texts + csv_texts(DATA_DIR / "sentiment" / "test.csv")[: 96 - len(texts)]


def chunks(texts):
    return [texts[i:i + CLIENT_BATCH] for i in range(0, len(texts), CLIENT_BATCH)]


def test_embed_equals_sentence_transformers(server, st_model, sample):
    rows = [row for part in chunks(sample) for row in post(server, "/embed", {"inputs": part})]
    got = np.asarray(rows, dtype=np.float32)
    want = st_model.encode(sample, convert_to_numpy=True)
    diff = max_abs(got, want)
    print(f"\n/embed: {len(sample)} texts, max abs diff {diff:.3g}")
    assert got.shape == want.shape and diff <= FP32_MAX_ABS


def test_openai_embeddings_equal_sentence_transformers(server, st_model, sample):
    rows = []
    for part in chunks(sample):
        answer = post(server, "/v1/embeddings", {"input": part, "model": "mtst"})
        data = sorted(answer["data"], key=lambda d: d["index"])
        assert [d["index"] for d in data] == list(range(len(part)))
        rows += [d["embedding"] for d in data]
    got = np.asarray(rows, dtype=np.float32)
    want = st_model.encode(sample, convert_to_numpy=True)
    diff = max_abs(got, want)
    print(f"\n/v1/embeddings: {len(sample)} texts, max abs diff {diff:.3g}")
    assert got.shape == want.shape and diff <= FP32_MAX_ABS
