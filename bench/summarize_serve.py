"""Summarises bench/serve_load.sh output (JSON lines) as the Markdown table of
docs/benchmarks.md: requests/s and latency per precision and mode (medians over rounds),
statuses, and the batching / no-batching ratio per round and of the medians."""
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
modes = [("batching (defaults)", ""), ("no batching (`--max-batch-requests 1`)", "--max-batch-requests 1")]
precisions = list(dict.fromkeys(r.get("precision", "auto") for r in rows))
print("| precision | server | requests/s per round | median | p50 | p90 | p99 | statuses (all rounds) |")
print("|---|---|---|---|---|---|---|---|")
medians = {}
for precision in precisions:
    for name, args in modes:
        runs = [r for r in rows if r["server_args"] == args and r.get("precision", "auto") == precision]
        if not runs:
            continue
        rates = [round(r["ok_per_s"]) for r in runs]
        medians[precision, args] = statistics.median(r["ok_per_s"] for r in runs)
        statuses = {}
        for r in runs:
            for code, n in r["statuses"].items():
                statuses[code] = statuses.get(code, 0) + n
        lat = {k: statistics.median(r[k] for r in runs) for k in ("p50_ms", "p90_ms", "p99_ms")}
        print(f"| {precision} | {name} | {', '.join(map(str, rates))} | {medians[precision, args]:.0f} "
              f"| {lat['p50_ms']:.0f} ms | {lat['p90_ms']:.0f} ms | {lat['p99_ms']:.0f} ms | "
              + ", ".join(f"{n:,} × {code}" for code, n in sorted(statuses.items())) + " |")
print()
for precision in precisions:
    by_round = {}
    for r in rows:
        if r.get("precision", "auto") == precision:
            by_round.setdefault(r["round"], {})[r["server_args"]] = r["ok_per_s"]
    ratios = [f"{v[''] / v['--max-batch-requests 1']:.2f}" for _, v in sorted(by_round.items()) if len(v) == 2]
    if (precision, "") in medians and (precision, "--max-batch-requests 1") in medians:
        print(f"{precision}: batching / no batching {medians[precision, ''] / medians[precision, '--max-batch-requests 1']:.2f}x "
              f"on medians; per round {', '.join(ratios)}")
