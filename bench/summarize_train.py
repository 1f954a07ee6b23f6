"""Summarises bench/train_vs_peer.sh output (JSON lines) as the Markdown tables of
docs/benchmarks.md: training samples/s per round, medians and mtst/peer ratios, then the
frozen-backbone epoch with and without the embedding cache."""
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
full = [r for r in rows if r.get("freeze", "none") == "none" and not r.get("freeze_backbone")]
print("| engine | precision | samples/s per round | median | mtst / peer (medians) |")
print("|---|---|---|---|---|")
for precision in ("bf16", "fp32"):
    ours = [r["samples_per_s"] for r in full if r.get("engine") == "mtst" and r["precision"] == precision]
    peer = [r["samples_per_s"] for r in full if r.get("engine") == "torch" and r["precision"] == precision]
    if not ours or not peer:
        continue
    mo, mp = statistics.median(ours), statistics.median(peer)
    print(f"| mtst | {precision} | {', '.join(map(str, ours))} | {mo} | |")
    torch_version = next(r["torch"] for r in full if r.get("engine") == "torch")
    print(f"| PyTorch {torch_version} eager (SDPA) | {precision} | {', '.join(map(str, peer))} | {mp} | {mo / mp:.2f}x |")
    ratios = [f"{a / b:.2f}" for a, b in zip(ours, peer)]
    print(f"|  | per-round ratios | {', '.join(ratios)} | | |")
frozen = [r for r in rows if r.get("freeze") == "backbone"]
if len(frozen) == 2:
    cached = next(r for r in frozen if r["embedding_cache"])
    uncached = next(r for r in frozen if not r["embedding_cache"])
    print()
    print("| frozen backbone, one epoch | steps | seconds | samples/s |")
    print("|---|---|---|---|")
    print(f"| heads on cached embeddings | {cached['steps']} | {cached['seconds']} | {cached['samples_per_s']} |")
    print(f"| encoder recomputed each step | {uncached['steps']} | {uncached['seconds']} | {uncached['samples_per_s']} |")
    print(f"| one-time cache build (train + validation texts) | | {cached['cache_seconds']} | |")
    print()
    print(f"epoch speed-up with the cache: {uncached['seconds'] / cached['seconds']:.0f}x; "
          f"including the cache build: {uncached['seconds'] / (cached['seconds'] + cached['cache_seconds']):.1f}x")
