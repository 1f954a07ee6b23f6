"""Summarises bench/serve_load.sh output (JSON lines) as the Markdown table of
docs/benchmarks.md: requests/s and latency per precision, mode and API key off/on (medians over
rounds), statuses, the batching / no-batching ratio and the key-on / key-off ratio per round and
of the medians."""
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
modes = [("batching (defaults)", ""), ("no batching (`--max-batch-requests 1`)", "--max-batch-requests 1")]
precisions = list(dict.fromkeys(r.get("precision", "auto") for r in rows))
auths = list(dict.fromkeys(r.get("auth", "off") for r in rows))
print("| precision | server | API key | requests/s per round | median | p50 | p90 | p99 | statuses (all rounds) |")
print("|---|---|---|---|---|---|---|---|---|")
medians, key_medians = {}, {}
def summarize_runs(precision, name, args, auth):
    runs = [r for r in rows if r["server_args"] == args and r.get("precision", "auto") == precision
            and r.get("auth", "off") == auth]
    if not runs:
        return
    rates = [round(r["ok_per_s"]) for r in runs]
    key_medians[precision, args, auth] = statistics.median(r["ok_per_s"] for r in runs)
    if auth == auths[0]:
        medians[precision, args] = key_medians[precision, args, auth]
    statuses = {}
    for r in runs:
        for code, n in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    lat = {k: statistics.median(r[k] for r in runs) for k in ("p50_ms", "p90_ms", "p99_ms")}
    print(f"| {precision} | {name} | {auth} | {', '.join(map(str, rates))} | {key_medians[precision, args, auth]:.0f} "
          f"| {lat['p50_ms']:.0f} ms | {lat['p90_ms']:.0f} ms | {lat['p99_ms']:.0f} ms | "
          + ", ".join(f"{n:,} × {code}" for code, n in sorted(statuses.items())) + " |")


for precision in precisions:
    for name, args in modes:
        for auth in auths:
            summarize_runs(precision, name, args, auth)
print()
for precision in precisions:
    by_round = {}
    for r in rows:
        if r.get("precision", "auto") == precision and r.get("auth", "off") == auths[0]:
            by_round.setdefault(r["round"], {})[r["server_args"]] = r["ok_per_s"]
    ratios = [f"{v[''] / v['--max-batch-requests 1']:.2f}" for _, v in sorted(by_round.items())
              if len(v) == 2 and v['--max-batch-requests 1'] > 0]
    if medians.get((precision, "--max-batch-requests 1"), 0) > 0 and (precision, "") in medians:
        print(f"{precision}: batching / no batching {medians[precision, ''] / medians[precision, '--max-batch-requests 1']:.2f}x "
              f"on medians; per round {', '.join(ratios)}")
if len(auths) == 2:
    for (precision, args, auth), rate in key_medians.items():
        if auth == "on" and (precision, args, "off") in key_medians:
            mode = "batching" if args == "" else "no batching"
            print(f"{precision}, {mode}: API key on / off {rate / key_medians[precision, args, 'off']:.3f}x on medians")
