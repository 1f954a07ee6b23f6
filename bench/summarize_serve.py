"""Summarises bench/serve_load.sh output (JSON lines) as the Markdown table of
docs/benchmarks.md: requests/s and latency per mode (medians over rounds), statuses, and the
batching / no-batching ratio per round and of the medians."""
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
modes = [("batching (defaults)", ""), ("no batching (`--max-batch-requests 1`)", "--max-batch-requests 1")]
print("| server | requests/s per round | median | p50 | p90 | p99 | statuses (all rounds) |")
print("|---|---|---|---|---|---|---|")
medians = {}
for name, args in modes:
    runs = [r for r in rows if r["server_args"] == args]
    rates = [round(r["ok_per_s"]) for r in runs]
    medians[args] = statistics.median(r["ok_per_s"] for r in runs)
    statuses = {}
    for r in runs:
        for code, n in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    lat = {k: statistics.median(r[k] for r in runs) for k in ("p50_ms", "p90_ms", "p99_ms")}
    print(f"| {name} | {', '.join(map(str, rates))} | {medians[args]:.0f} | {lat['p50_ms']:.0f} ms "
          f"| {lat['p90_ms']:.0f} ms | {lat['p99_ms']:.0f} ms | "
          + ", ".join(f"{n:,} × {code}" for code, n in sorted(statuses.items())) + " |")
by_round = {}
for r in rows:
    by_round.setdefault(r["round"], {})[r["server_args"]] = r["ok_per_s"]
ratios = [f"{v[''] / v['--max-batch-requests 1']:.2f}" for _, v in sorted(by_round.items()) if len(v) == 2]
print()
print(f"batching / no batching: {medians[''] / medians['--max-batch-requests 1']:.2f}x on medians; "
      f"per round {', '.join(ratios)}")
