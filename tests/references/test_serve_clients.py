"""`mtst serve` on the real all-MiniLM-L6-v2 driven by the clients users already have: the
`openai` package (embeddings.create, base64 floats by default) and huggingface_hub's
InferenceClient (feature_extraction, TEI's POST /), over HTTP and over HTTPS with a self-signed
certificate made here by openssl, with the API key (same vectors as `mtst encode`, 1e-6), a
wrong key (401) and no key on a server without one. Then the client snippets of
docs/serving.md, run as written against the server its shell block describes."""
import json
import os
import re
import subprocess
import sys
import time
import ssl
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import (SOURCE_DIR, edge_case_texts, max_abs, mtst_binary, run_mtst, sentences_txt,
                      write_jsonl_texts)

KEY = "a-test-key-0b9d"
CLIENT = Path(__file__).with_name("serve_client.py")
DOC = SOURCE_DIR / "docs" / "serving.md"
SNIPPET_MARK = "docs-test: skip: run by references.serve_clients"
TOLERANCE = 1e-6


class Server:
    """mtst serve ARGS on a free port (or the one ARGS names), until stop()."""

    def __init__(self, model_dir, *args, ca_cert=None):
        port_args = [] if "--port" in args else ["--port", "0"]
        self.proc = subprocess.Popen([mtst_binary(), "serve", "--model", str(model_dir),
                                      "--auto-truncate", *port_args, *map(str, args)],
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        match = re.search(r"listening on (https://)?[\d.]+:(\d+)", line)
        assert match, f"mtst serve did not start: {line}{self.proc.stderr.read()}"
        scheme = "https" if match.group(1) else "http"
        self.url = f"{scheme}://127.0.0.1:{match.group(2)}"
        context = ssl.create_default_context(cafile=ca_cert) if ca_cert else None
        for _ in range(600):
            try:
                with urllib.request.urlopen(self.url + "/health", context=context) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("mtst serve never became healthy")

    def stop(self):
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        assert KEY not in err
        return err


def client_env():
    env = dict(os.environ)
    for offline in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # huggingface_hub reads both;
        env.pop(offline, None)  # the clients talk to 127.0.0.1 only
    return env


def embed_with(kind, url, key, texts_path, tmp_path, ca_cert=None):
    """The client's embeddings, or the HTTP status it was refused with."""
    out = tmp_path / f"{kind}.npy"
    proc = subprocess.run([sys.executable, CLIENT, kind, url, key or "-", texts_path, out,
                           *([ca_cert] if ca_cert else [])],
                          capture_output=True, text=True, env=client_env(), timeout=600)
    if proc.returncode == 3:
        return int(proc.stdout.strip())
    assert proc.returncode == 0, proc.stderr
    return np.load(out)


@pytest.fixture(scope="module")
def texts():
    return sentences_txt() + edge_case_texts()


@pytest.fixture(scope="module")
def expected(model_dir, texts, tmp_path_factory):
    """`mtst encode` of the texts (the model ends in Normalize, as the server's answers do)."""
    tmp = tmp_path_factory.mktemp("encode")
    run_mtst("encode", "--model", model_dir, "--input", write_jsonl_texts(tmp / "t.jsonl", texts),
             "--output", tmp / "e.npy")
    return np.load(tmp / "e.npy")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "server.crt", tmp / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("kind", ["openai", "huggingface_hub"])
def test_client_gets_mtst_encode_vectors(kind, scheme, model_dir, texts, expected, certificate,
                                         tmp_path):
    texts_path = tmp_path / "texts.json"
    texts_path.write_text(json.dumps(texts))
    cert, key = certificate
    tls = ["--tls-cert", cert, "--tls-key", key] if scheme == "https" else []
    ca = str(cert) if scheme == "https" else None
    server = Server(model_dir, "--api-key", KEY, *tls, ca_cert=ca)
    try:
        got = embed_with(kind, server.url, KEY, texts_path, tmp_path, ca)
        refused = embed_with(kind, server.url, KEY + "-wrong", texts_path, tmp_path, ca)
        anonymous = embed_with(kind, server.url, None, texts_path, tmp_path, ca)
    finally:
        server.stop()
    assert got.shape == expected.shape
    diff = max_abs(got, expected)
    print(f"\n{kind} over {scheme} with the key: {len(texts)} texts, max abs diff {diff:.2e}")
    assert diff <= TOLERANCE
    assert refused == 401
    assert anonymous == 401
    open_server = Server(model_dir, *tls, ca_cert=ca)  # no --api-key: no key needed
    try:
        keyless = embed_with(kind, open_server.url, None, texts_path, tmp_path, ca)
    finally:
        open_server.stop()
    assert max_abs(keyless, expected) <= TOLERANCE


def doc_snippets():
    """The python blocks of docs/serving.md that the docs test leaves to this file."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    snippets = []
    for i, line in enumerate(lines):
        if SNIPPET_MARK in line and i + 1 < len(lines) and lines[i + 1].strip() == "```python":
            end = lines.index("```", i + 2)
            snippets.append("\n".join(lines[i + 2:end]))
    return snippets


def test_docs_client_snippets_run_as_written(model_dir):
    snippets = doc_snippets()
    assert len(snippets) == 2, "docs/serving.md should hold the openai and huggingface_hub snippets"
    server = Server(model_dir, "--port", 8080, "--api-key", "my-secret-key")
    try:
        for snippet in snippets:
            proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                                  env=client_env(), timeout=300, cwd=SOURCE_DIR)
            print(f"\n--- snippet\n{snippet}\n--- printed\n{proc.stdout}")
            assert proc.returncode == 0, proc.stderr
    finally:
        server.stop()
