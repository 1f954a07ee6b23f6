"""PyTorch 2.x training peer for bench/train_vs_peer.sh: the seed's multi-task model on the
real all-MiniLM-L6-v2, fully fine-tuned as mtst's configs/minilm.json does it — transformers
AutoModel (SDPA attention, dropout on) + masked mean pooling + one Linear(384,256)-ReLU-
Dropout-Linear(256,3) head per task, one batch of 32 per task per step, loss = sum of the
cross-entropies, AdamW (backbone 2e-5, heads 1e-3, weight decay 0.01), global-norm
clipping at 1.0, dynamic padding, max length 128; bf16 = CPU autocast.

  train_peer.py --model DIR --data TASK.csv --data TASK.csv [--limit 3000] [--steps 10]
                [--warmup 3] [--batch-size 32] [--threads 2] [--precision fp32|bf16]

Prints one JSON line: samples/s, where a sample is one sentence of one task (a step of two
tasks at batch 32 is 64 samples), timed over --steps after --warmup steps.
"""
import argparse
import csv
import json
import random
import time

import torch
import torch.nn as nn


def read_task(path, limit):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:limit]
    labels = sorted({r["label"] for r in rows})
    return [r["text"] for r in rows], [labels.index(r["label"]) for r in rows], len(labels)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--limit", type=int, default=3000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    a = ap.parse_args()
    from transformers import AutoModel, AutoTokenizer
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    tokenizer = AutoTokenizer.from_pretrained(a.model)
    bert = AutoModel.from_pretrained(a.model, attn_implementation="sdpa").train()
    hidden = bert.config.hidden_size
    tasks = [read_task(p, a.limit) for p in a.data]
    heads = nn.ModuleList([nn.Sequential(nn.Linear(hidden, 256), nn.ReLU(), nn.Dropout(0.1),
                                         nn.Linear(256, classes)) for _, _, classes in tasks])
    opt = torch.optim.AdamW([{"params": bert.parameters(), "lr": 2e-5},
                             {"params": heads.parameters(), "lr": 1e-3}], weight_decay=0.01)
    params = list(bert.parameters()) + list(heads.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        loss, samples = 0.0, 0
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            for head, (texts, labels, _) in zip(heads, tasks):
                pick = [rng.randrange(len(texts)) for _ in range(a.batch_size)]
                b = tokenizer([texts[i] for i in pick], padding=True, truncation=True,
                              max_length=128, return_tensors="pt")
                tokens = bert(**b).last_hidden_state
                mask = b["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                y = torch.tensor([labels[i] for i in pick])
                loss = loss + nn.functional.cross_entropy(head(pooled).float(), y)
                samples += len(pick)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return samples

    for _ in range(a.warmup):
        step()
    start, done = time.perf_counter(), 0
    for _ in range(a.steps):
        done += step()
    seconds = time.perf_counter() - start
    print(json.dumps({"engine": "torch", "torch": torch.__version__, "precision": a.precision,
                      "threads": a.threads, "batch_size": a.batch_size, "tasks": len(tasks),
                      "steps": a.steps, "seconds": round(seconds, 3),
                      "attention": bert.config._attn_implementation,
                      "samples_per_s": round(done / seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
