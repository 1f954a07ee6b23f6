"""fastText accuracy peer (fasttext-wheel 0.9.2, in the references venv) on the bundled
tasks: `supervised` with epoch 10, wordNgrams 2, dim 100, 2 threads on the train split of
each task, lower-cased text with punctuation split off (the usual fastText recipe for short
texts), scored on the test split. One JSON line per task: accuracy,
macro-F1 and training seconds.

  fasttext_peer.py [--data-dir data]
"""
import argparse
import csv
import json
import os
import re
import tempfile
import time

try:
    import fasttext
except ImportError:
    raise SystemExit("fasttext_peer: fastText is not in this venv (scripts/references/requirements.txt "
                     "leaves it out on Python 3.13, where it does not build)")

TASKS = {"category": "sentence_type", "sentiment": "sentiment"}


def clean(text):
    return " ".join(re.findall(r"\w+|[^\w\s]", text.lower()))


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(clean(r["text"]), r["label"]) for r in csv.DictReader(f)]


def macro_f1(truth, predicted):
    scores = []
    for label in sorted(set(truth)):
        tp = sum(t == p == label for t, p in zip(truth, predicted))
        fp = sum(p == label != t for t, p in zip(truth, predicted))
        fn = sum(t == label != p for t, p in zip(truth, predicted))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def run(task, folder):
    train = rows(os.path.join(folder, "train.csv"))
    test = rows(os.path.join(folder, "test.csv"))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for text, label in train:
            f.write(f"__label__{label} {text}\n")
    start = time.perf_counter()
    model = fasttext.train_supervised(f.name, epoch=10, wordNgrams=2, dim=100, thread=2,
                                      verbose=0)
    seconds = time.perf_counter() - start
    os.unlink(f.name)
    # model.predict() of fasttext-wheel 0.9.2 fails under numpy 2 (np.array(copy=False));
    # its binding's own predict returns the (probability, label) pairs it would wrap.
    # An empty text gets no prediction at all; it counts as wrong.
    predicted = []
    for text, _ in test:
        pairs = model.f.predict(text, 1, 0.0, "strict")
        predicted.append(pairs[0][1][len("__label__"):] if pairs else "")
    truth = [label for _, label in test]
    accuracy = sum(t == p for t, p in zip(truth, predicted)) / len(truth)
    print(json.dumps({"engine": "fasttext", "task": task, "test_sentences": len(test),
                      "accuracy": round(accuracy, 4), "macro_f1": round(macro_f1(truth, predicted), 4),
                      "train_seconds": round(seconds, 2)}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="data")
    args = ap.parse_args()
    for task, folder in TASKS.items():
        run(task, os.path.join(args.data_dir, folder))


if __name__ == "__main__":
    main()
