"""Median sentences/s per engine and precision from an encode_vs_peers.sh JSONL file, and
mtst's ratio to each peer at the same precision, as a Markdown table."""
import json
import statistics
import sys


def engine_name(row):
    if row.get("engine") == "mtst":
        return "mtst"
    return {"pytorch-eager": "PyTorch eager", "onnxruntime-node": "ONNX Runtime"}[row["peer"]]


def main(path):
    runs = {}
    cosine = None
    for line in open(path):
        row = json.loads(line)
        precision = row.get("precision", "fp32")
        if "min_cosine_vs_fp32" in row:
            cosine = row["min_cosine_vs_fp32"]
            continue
        runs.setdefault((engine_name(row), precision), []).append(row["sentences_per_s"])
    print("| engine | precision | runs (sentences/s) | median | mtst / engine |")
    print("|---|---|---|---|---|")
    for (engine, precision), values in sorted(runs.items()):
        median = statistics.median(values)
        ours = statistics.median(runs.get(("mtst", precision), [float("nan")]))
        ratio = "" if engine == "mtst" else f"{ours / median:.2f}x"
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {engine} | {precision} | {shown} | {median:.0f} | {ratio} |")
    if cosine is not None:
        print(f"\nbf16 vs fp32 embeddings on the corpus: min cosine {cosine:.6f}")


if __name__ == "__main__":
    main(sys.argv[1])
