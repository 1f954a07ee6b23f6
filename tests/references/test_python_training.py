"""The Python package's train, evaluate, predict and serve against the CLI installed with it:
a dict config trains the run the same config file trains through `mtst train` (same metrics
under `mtst evaluate`), MultiTaskModel.predict gives `mtst predict`'s numbers, Ctrl-C leaves
a resumable last/, and mtst.Server answers as `mtst serve` does."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(os.environ["MTST_SOURCE_DIR"]) / "tests" / "fixtures"


def tiny_config(max_steps=8, eval_interval=4):
    """The tiny BERT of tests/fixtures on its small labelled sets: seconds to train."""
    data = FIXTURES / "train-data"

    def task(name, labels):
        return {"name": name, "labels": labels, "head": {"hidden_size": 16, "dropout": 0.1},
                "files": {split: str(data / f"{name}_{split}.csv")
                          for split in ("train", "validation", "test")}}

    return {
        "backbone": {"model": str(FIXTURES / "tiny-bert-train"), "max_seq_length": 32},
        "tasks": [task("category", ["declarative", "imperative", "question"]),
                  task("sentiment", ["negative", "neutral", "positive"])],
        "optimizer": {"lr_backbone": 1e-3, "lr_heads": 3e-3},
        "training": {"batch_size": 8, "max_steps": max_steps, "eval_interval": eval_interval,
                     "seed": 7, "threads": 2},
    }


def cli(*args):
    import mtst._cli
    proc = subprocess.run([mtst._cli.binary(), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def metrics_only(report):
    return [{k: v for k, v in t.items() if k != "data"} for t in report["tasks"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import mtst
    root = tmp_path_factory.mktemp("runs")
    config = tiny_config()
    result = mtst.train(config, output=str(root / "python"), progress=False)
    (root / "config.json").write_text(json.dumps(config))
    cli("train", "--config", root / "config.json", "--output", root / "cli", "--quiet")
    return root, result


def test_dict_config_trains_what_the_cli_trains(runs):
    import mtst
    root, result = runs
    assert result.run_dir == str(root / "python") and result.steps == 8
    assert set(result.metrics) == {"category", "sentiment"}
    assert 0.0 <= result.metrics["category"]["accuracy"] <= 1.0
    for split in ("test", "validation"):
        from_python = json.loads(cli("evaluate", "--model", root / "python" / "final",
                                     "--split", split, "--format", "json"))
        from_cli = json.loads(cli("evaluate", "--model", root / "cli" / "final",
                                  "--split", split, "--format", "json"))
        assert metrics_only(from_python) == metrics_only(from_cli)
        # mtst.evaluate reads the run directory and reports what `mtst evaluate` does.
        assert metrics_only(mtst.evaluate(str(root / "python"), split=split)) == \
            metrics_only(from_python)


def test_predict_equals_the_cli(runs, texts):
    import mtst
    root, _ = runs
    model = mtst.MultiTaskModel(str(root / "python"))
    assert model.tasks == {"category": ["declarative", "imperative", "question"],
                           "sentiment": ["negative", "neutral", "positive"]}
    sample = texts[:200]
    path = root / "texts.txt"
    path.write_text("\n".join(sample) + "\n", encoding="utf-8")
    lines = cli("predict", "--model", root / "python" / "final", "--input", path,
                "--format", "jsonl", "--embeddings").splitlines()
    want = [json.loads(line) for line in lines]
    got = model.predict(sample, return_embeddings=True)
    assert len(got) == len(want) == len(sample)
    for g, w in zip(got, want):
        assert g["text"] == w["text"]
        for task in ("category", "sentiment"):
            assert g[task] == w[task]
        assert np.array_equal(g["embedding"], np.asarray(w["embedding"], np.float32))
    probs = model.predict_proba(sample)
    assert probs["sentiment"].shape == (200, 3)
    assert model.predict(sample[0]) == {k: v for k, v in want[0].items() if k != "embedding"}


def test_training_errors_are_exceptions(tmp_path):
    import mtst
    config = tiny_config()
    config["training"]["max_steps"] = "many"
    with pytest.raises(mtst.Error, match="max_steps"):
        mtst.train(config, output=str(tmp_path / "bad"), progress=False)
    with pytest.raises(mtst.Error):
        mtst.train(tiny_config(), output=str(tmp_path / "r"), overrides=["nope.key=1"],
                   progress=False)
    with pytest.raises(FileNotFoundError):
        mtst.train(str(tmp_path / "missing.json"))
    with pytest.raises(TypeError):
        mtst.train(42)
    with pytest.raises(FileNotFoundError):
        mtst.MultiTaskModel(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        mtst.evaluate(str(tmp_path / "nothing"))


def test_ctrl_c_leaves_a_resumable_run(tmp_path):
    config = tiny_config(max_steps=100000, eval_interval=50)
    script = textwrap.dedent(f"""
        import json, sys, mtst
        try:
            mtst.train(json.loads({json.dumps(json.dumps(config))}), output={str(tmp_path / 'run')!r},
                       progress=False)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
        """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.time() + 120
    while not (tmp_path / "run" / "last").is_dir() and time.time() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "run" / "last").is_dir(), "training did not reach its first checkpoint"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "interrupted" in out
    assert not (tmp_path / "run" / "final").exists()
    saved = json.loads((tmp_path / "run" / "last" / "trainer_state.json").read_text())
    assert metrics.is_file()
    import mtst
    result = mtst.train(None, resume=str(tmp_path / "run" / "last"),
                        overrides=["training.max_steps=" + str(saved["step"] + 10)],
                        progress=False)
    assert result.steps == saved["step"] + 10 and (tmp_path / "run" / "final").is_dir()


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def wait_healthy(url):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become healthy")


def test_server_answers_as_encode(model_dir):
    import mtst
    texts = ["A sentence to embed.", "And one more."]
    want = mtst.SentenceEncoder(model_dir, threads=1).encode(texts)
    with mtst.Server(model_dir, port=0, threads=1) as server:
        wait_healthy(server.url)
        got = np.asarray(post(server.url + "/embed", {"inputs": texts}), np.float32)
    assert np.abs(got - want).max() <= 1e-6
    with pytest.raises(FileNotFoundError):
        mtst.Server(str(model_dir) + "-missing")
    with pytest.raises(TypeError):
        mtst.Server(model_dir, max_batch_tokenz=5)


def test_serve_blocks_until_ctrl_c(model_dir):
    script = f"import mtst; mtst.serve({str(model_dir)!r}, port=0, threads=1)"
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    assert "listening on 127.0.0.1:" in line, line
    url = "http://127.0.0.1:" + line.strip().rsplit(":", 1)[1]
    wait_healthy(url)
    assert len(post(url + "/embed", {"inputs": "hello"})[0]) == 384
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "KeyboardInterrupt" in err and proc.returncode != 0
