"""The Python stack reads what mtst writes, on a short training run of the real model:
SentenceTransformer loads final/, last/ and best-<task>/ with no missing or unexpected weights
and embeds as `mtst encode` does; safetensors loads the heads; the docs' plain-torch snippet
(docs/python.md) reproduces `mtst predict`; TensorBoard's EventAccumulator reads every scalar
of metrics.jsonl; a pytorch_model.bin written by torch.save loads in mtst."""
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import (SOURCE_DIR, edge_case_texts, max_abs, run_mtst, sentences_txt,
                      write_jsonl_texts)

FP32_MAX_ABS = 1e-5
TRAIN_DATA = SOURCE_DIR / "tests" / "fixtures" / "train-data"
CHECKPOINTS = ["final", "last", "best-category", "best-sentiment"]
# What transformers and sentence-transformers say when weights do not match the architecture.
LOAD_PROBLEMS = re.compile(r"missing|unexpected|not initiali[sz]ed|not used|newly initiali[sz]ed|"
                           r"mismatch", re.IGNORECASE)


def task(name, labels):
    return {"name": name, "labels": labels, "head": {"hidden_size": 32},
            "files": {split: str(TRAIN_DATA / f"{name}_{split}.csv")
                      for split in ("train", "validation", "test")}}


@pytest.fixture(scope="module")
def run_dir(model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    config = {
        "backbone": {"model": str(model_dir.resolve()), "max_seq_length": 128},
        "tasks": [task("category", ["declarative", "imperative", "question"]),
                  task("sentiment", ["negative", "neutral", "positive"])],
        "optimizer": {"lr_backbone": 5e-5, "lr_heads": 1e-3},
        "training": {"batch_size": 8, "max_steps": 20, "eval_interval": 10, "seed": 3,
                     "precision": "fp32", "threads": 2},
    }
    (root / "config.json").write_text(json.dumps(config))
    run_mtst("train", "--config", root / "config.json", "--output", root / "run")
    return root / "run"


@pytest.fixture(scope="module")
def texts():
    return sentences_txt() + edge_case_texts()


@contextmanager
def captured_fds():
    """Everything written to file descriptors 1 and 2 meanwhile (transformers' load report
    goes to a stream its logger captured at import time, which redirect_stderr misses)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    text = []
    with tempfile.TemporaryFile(mode="w+") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield text
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text.extend(sink.read().splitlines())


def load_quietly(path):
    """SentenceTransformer(path) with every warning, log record and console line captured."""
    from sentence_transformers import SentenceTransformer
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    loggers = [logging.getLogger(n) for n in ("", "transformers", "sentence_transformers")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught, captured_fds() as console:
            warnings.simplefilter("always")
            model = SentenceTransformer(str(path), device="cpu")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    said = [str(w.message) for w in caught] + [r.getMessage() for r in records] + console
    return model, said


def test_load_check_sees_weight_problems(run_dir, tmp_path):
    # The check below must be able to fail: a checkpoint with one weight missing and one
    # unexpected makes SentenceTransformer say so, and load_quietly catches it.
    bad = tmp_path / "bad"
    shutil.copytree(run_dir / "final", bad)
    weights = load_file(str(bad / "model.safetensors"))
    weights.pop("encoder.layer.0.output.dense.bias")
    weights["encoder.layer.0.extra"] = torch.zeros(3)
    save_file(weights, str(bad / "model.safetensors"), metadata={"format": "pt"})
    _, said = load_quietly(bad)
    assert [s for s in said if LOAD_PROBLEMS.search(s)]


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_sentence_transformers_loads_checkpoint(run_dir, checkpoint, texts, tmp_path, st_model):
    base_model = st_model
    model, said = load_quietly(run_dir / checkpoint)
    problems = [s for s in said if LOAD_PROBLEMS.search(s)]
    assert not problems, f"{checkpoint}: loading said {problems}"
    want = model.encode(texts, convert_to_numpy=True)
    assert max_abs(want, base_model.encode(texts, convert_to_numpy=True)) > 1e-3, \
        "the checkpoint's backbone should differ from the model it was fine-tuned from"
    run_mtst("encode", "--model", run_dir / checkpoint, "--input",
             write_jsonl_texts(tmp_path / "t.jsonl", texts), "--output", tmp_path / "e.npy")
    got = np.load(tmp_path / "e.npy")
    diff = max_abs(got, want)
    print(f"\n{checkpoint}: SentenceTransformer loaded it ({len(said)} messages, none about "
          f"weights); {len(texts)} texts, max abs diff to mtst encode {diff:.3g}")
    assert diff <= FP32_MAX_ABS


def test_heads_load_with_safetensors(run_dir):
    meta = json.loads((run_dir / "final" / "mtst.json").read_text())
    for t in meta["tasks"]:
        weights = load_file(str(run_dir / "final" / "heads" / t["name"] / "model.safetensors"))
        head = t["head"]
        assert weights["0.weight"].shape == (head["hidden_size"], head["input_size"])
        assert weights["2.weight"].shape == (len(t["labels"]), head["hidden_size"])
        assert set(weights) == {"0.weight", "0.bias", "2.weight", "2.bias"}
        assert all(w.dtype == torch.float32 for w in weights.values())


def test_pooler_of_the_base_model_is_carried_through(run_dir, model_dir):
    base = load_file(str(model_dir / "model.safetensors"))
    for checkpoint in CHECKPOINTS:
        saved = load_file(str(run_dir / checkpoint / "model.safetensors"))
        for key in ("pooler.dense.weight", "pooler.dense.bias"):
            assert torch.equal(saved[key], base[key]), (checkpoint, key)


def docs_snippet():
    doc = (SOURCE_DIR / "docs" / "python.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- snippet: predict -->\s*```python\n(.*?)```", doc, re.DOTALL)
    assert match, "docs/python.md has no predict snippet"
    return match.group(1)


def test_docs_snippet_reproduces_mtst_predict(run_dir, texts, tmp_path):
    namespace = {}
    exec(compile(docs_snippet(), "docs/python.md", "exec"), namespace)
    model = run_dir / "final"
    ours = namespace["mtst_predict"](str(model), texts)
    out = run_mtst("predict", "--model", model, "--input",
                   write_jsonl_texts(tmp_path / "t.jsonl", texts), "--format", "jsonl").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(texts)
    worst = 0.0
    for name, probs in ours.items():
        for label, column in probs.items():
            theirs = np.array([r[name]["scores"][label] for r in rows])
            worst = max(worst, max_abs(np.array(column), theirs))
    print(f"\ndocs snippet vs mtst predict: {len(texts)} texts x {len(ours)} tasks, "
          f"max abs diff of probabilities {worst:.3g}")
    assert worst <= FP32_MAX_ABS


def test_tensorboard_reads_every_scalar(run_dir):
    count, tags = expect_tensorboard_equals_metrics(run_dir)
    print(f"\nTensorBoard: {tags} scalar tags, {count} values, all equal metrics.jsonl")


def expect_tensorboard_equals_metrics(run_dir):
    """TensorBoard's EventAccumulator on RUN_DIR/tensorboard holds exactly the scalars of
    RUN_DIR/metrics.jsonl, each (tag, step) once. Returns (values, tags)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    expected = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        step = rec["step"]
        if rec["type"] == "train":
            for key in ("loss", "lr_backbone", "lr_heads", "samples_per_s"):
                expected.setdefault(f"train/{key}", {})[step] = rec[key]
        else:
            expected.setdefault("val/loss", {})[step] = rec["combined_loss"]
            for name, m in rec["tasks"].items():
                for key in ("loss", "accuracy", "macro_f1"):
                    expected.setdefault(f"val/{name}/{key}", {})[step] = m[key]
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert sorted(tags) == sorted(expected)
    count = 0
    for tag in tags:
        steps = [e.step for e in acc.Scalars(tag)]
        assert len(steps) == len(set(steps)), (tag, steps)
        events = {e.step: e.value for e in acc.Scalars(tag)}
        assert events.keys() == expected[tag].keys(), tag
        for step, value in events.items():
            assert value == pytest.approx(expected[tag][step], rel=1e-6, abs=1e-12), (tag, step)
            count += 1
    return count, len(tags)


def test_tensorboard_after_a_resume_shows_each_step_once(tmp_path):
    """What a run killed past its last checkpoint leaves: its logs reach step 24, its last/ is
    at step 12 (here: a full run's logs with a 12-step run's last/). After --resume,
    metrics.jsonl and TensorBoard's reader both hold each step once, with the resumed run's
    values (train lines every 10 steps and at the end; validation every 6)."""
    fixtures = SOURCE_DIR / "tests" / "fixtures"
    def config(steps):
        return {"backbone": {"model": str(fixtures / "tiny-bert-train"), "max_seq_length": 32},
                "tasks": [dict(task("category", ["declarative", "imperative", "question"]),
                               head={"hidden_size": 16}),
                          dict(task("sentiment", ["negative", "neutral", "positive"]),
                               head={"hidden_size": 16})],
                "training": {"batch_size": 8, "max_steps": steps, "eval_interval": 6,
                             "seed": 7, "threads": 2}}
    for name, steps in (("full", 24), ("short", 12)):
        (tmp_path / f"{name}.json").write_text(json.dumps(config(steps)))
        run_mtst("train", "--quiet", "--config", tmp_path / f"{name}.json",
                 "--output", tmp_path / name)
    run = tmp_path / "full"
    shutil.rmtree(run / "last")
    shutil.copytree(tmp_path / "short" / "last", run / "last")
    run_mtst("train", "--quiet", "--resume", run, "--set", "training.max_steps=24")
    count, tags = expect_tensorboard_equals_metrics(run)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["type"] == "train"]
    assert steps == [10, 20, 24], steps
    print(f"\nresumed run: TensorBoard {tags} tags, {count} values, each step once")


def test_torch_save_bin_loads_in_mtst(model_dir, st_model, texts, tmp_path):
    copy = tmp_path / "bin-model"
    shutil.copytree(model_dir, copy)
    (copy / "model.safetensors").unlink()
    state = load_file(str(model_dir / "model.safetensors"))
    torch.save(state, copy / "pytorch_model.bin")  # torch 2.x default: zip format
    run_mtst("encode", "--model", copy, "--input",
             write_jsonl_texts(tmp_path / "t.jsonl", texts), "--output", tmp_path / "e.npy")
    got = np.load(tmp_path / "e.npy")
    diff = max_abs(got, st_model.encode(texts, convert_to_numpy=True))
    print(f"\npytorch_model.bin from torch {torch.__version__}: {len(texts)} texts, "
          f"max abs diff {diff:.3g}")
    assert diff <= FP32_MAX_ABS
