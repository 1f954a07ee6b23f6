"""Median sentences/s per engine and precision from an encode_vs_peers.sh JSONL file, and
mtst's ratios (its fp32, and its best precision) to each peer, as a Markdown table; then the
cosine to fp32 of each engine that reported it (the --compare-fp32 / --quality runs)."""
import json
import statistics
import sys

NAMES = {"mtst": "mtst", "mtst-avx2": "mtst, ISA capped at AVX2",
         "st": "sentence-transformers encode", "torch": "PyTorch eager (SDPA)",
         "ort": "ONNX Runtime", "st-openvino": "sentence-transformers, OpenVINO backend"}
MTST = ("mtst", "mtst-avx2")


def main(path):
    runs = {}
    cosine = {}
    for line in open(path):
        row = json.loads(line)
        if "min_cosine_vs_fp32" in row:
            cosine[(row["engine"], row.get("precision", "fp32"))] = (
                row["min_cosine_vs_fp32"], row["mean_cosine_vs_fp32"])
            continue
        runs.setdefault((row["engine"], row.get("precision", "fp32")), []).append(
            row["sentences_per_s"])
    medians = {key: statistics.median(values) for key, values in runs.items()}
    ours_fp32 = medians.get(("mtst", "fp32"), float("nan"))
    ours_best = max(v for (e, _), v in medians.items() if e == "mtst")
    print("| engine | precision | runs (sentences/s) | median | mtst fp32 / engine "
          "| mtst best / engine |")
    print("|---|---|---|---|---|---|")
    for (engine, precision), values in sorted(runs.items(), key=lambda kv: -medians[kv[0]]):
        median = medians[(engine, precision)]
        ratios = ("", "") if engine in MTST else (f"{ours_fp32 / median:.2f}x",
                                                    f"{ours_best / median:.2f}x")
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {NAMES[engine]} | {precision} | {shown} | {median:.0f} | {ratios[0]} "
              f"| {ratios[1]} |")
    for (engine, precision), (low, mean) in sorted(cosine.items()):
        print(f"\n{NAMES[engine]} {precision} vs fp32 embeddings on the corpus: "
              f"min cosine {low:.5f}, mean {mean:.6f}")


if __name__ == "__main__":
    main(sys.argv[1])
