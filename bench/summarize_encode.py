"""Median sentences/s per engine and precision from an encode_vs_peers.sh JSONL file, and
mtst's ratios (its fp32, and its best precision) to each peer, as a Markdown table; the
headline ratios (mtst int8 over the fastest peer, mtst fp32 over OpenVINO fp32, natively and
with the ISA capped at AVX2); then the cosine to fp32 of each engine that reported it (the
--compare-fp32 / --quality runs)."""
import json
import statistics
import sys

NAMES = {"mtst": "mtst", "mtst-avx2": "mtst, ISA capped at AVX2",
         "st": "sentence-transformers encode", "torch": "PyTorch eager (SDPA)",
         "ort": "ONNX Runtime", "st-openvino": "sentence-transformers, OpenVINO backend",
         "st-onnx": "sentence-transformers, ONNX backend (per-channel int8 export)"}
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
    headline(medians)
    for (engine, precision), (low, mean) in sorted(cosine.items()):
        print(f"\n{NAMES[engine]} {precision} vs fp32 embeddings on the corpus: "
              f"min cosine {low:.5f}, mean {mean:.6f}")


def headline(medians):
    peers = {k: v for k, v in medians.items() if k[0] not in MTST}
    if not peers:
        return
    fastest = max(peers, key=peers.get)
    ov_fp32 = medians.get(("st-openvino", "fp32"))
    ov_default = medians.get(("st-openvino", "default"))
    print()
    for engine in MTST:
        int8, fp32 = medians.get((engine, "int8")), medians.get((engine, "fp32"))
        parts = []
        if int8:
            parts.append(f"int8 / fastest peer ({NAMES[fastest[0]]} {fastest[1]}): "
                         f"{int8 / peers[fastest]:.2f}x")
        if fp32 and ov_fp32:
            parts.append(f"fp32 / OpenVINO fp32: {fp32 / ov_fp32:.2f}x")
        if fp32 and ov_default:
            parts.append(f"fp32 / OpenVINO default: {fp32 / ov_default:.2f}x")
        bf16 = medians.get((engine, "bf16"))
        if bf16 and ov_default:
            parts.append(f"bf16 / OpenVINO default: {bf16 / ov_default:.2f}x")
        note = " (the peers ran on this CPU's own ISA)" if engine == "mtst-avx2" else ""
        if parts:
            print(f"{NAMES[engine]}: " + "; ".join(parts) + " (medians)" + note)


if __name__ == "__main__":
    main(sys.argv[1])
