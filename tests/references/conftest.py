"""Shared fixtures of the reference tests: mtst as a subprocess, the real model, its texts.

Every test compares what the mtst binary produces with what the Python stack users run
(Hugging Face tokenizers/transformers, sentence-transformers, safetensors, TensorBoard, numpy)
makes of the same input. Paths come from the environment that CMake gives ctest.
"""
import csv
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(2)

SOURCE_DIR = Path(os.environ["MTST_SOURCE_DIR"])
DATA_DIR = SOURCE_DIR / "data"
EDGE_CASES = Path(__file__).with_name("edge_cases.jsonl")


def mtst_binary():
    return os.environ["MTST_BINARY"]


def run_mtst(*args, stdin=None):
    """Runs mtst with ARGS; returns its CompletedProcess, failing the test on a non-zero exit."""
    proc = subprocess.run([mtst_binary(), *map(str, args)], input=stdin, capture_output=True,
                          text=True)
    assert proc.returncode == 0, f"mtst {' '.join(map(str, args))} failed:\n{proc.stderr}"
    return proc


def write_jsonl_texts(path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    return path


def csv_texts(path, column="text"):
    with open(path, newline="", encoding="utf-8") as f:
        return [row[column] for row in csv.DictReader(f)]


def split_files():
    return sorted((DATA_DIR / task / f"{split}.csv")
                  for task in ("sentence_type", "sentiment")
                  for split in ("train", "validation", "test"))


def sentences_txt():
    # mtst reads every line (a trailing \r dropped); so does this.
    text = (DATA_DIR / "sentences.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def edge_case_texts():
    return [json.loads(line)["text"] for line in EDGE_CASES.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def max_abs(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


def min_cosine(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(cos.min())


@pytest.fixture(scope="session")
def model_dir():
    return Path(os.environ["MTST_MODEL_DIR"])


@pytest.fixture(scope="session")
def st_model(model_dir):
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="session")
def texts():
    """The parity set: data/sentences.txt, both test splits and the edge cases (a test file may
    define its own)."""
    return (sentences_txt() + csv_texts(DATA_DIR / "sentence_type" / "test.csv") +
            csv_texts(DATA_DIR / "sentiment" / "test.csv") + edge_case_texts())


@pytest.fixture(scope="session")
def reference(st_model, texts):
    """sentence-transformers' fp32 embeddings of the parity set, batch 32."""
    return st_model.encode(texts, batch_size=32, convert_to_numpy=True)
