#!/usr/bin/env python3
"""Writes data/int8-calibration.txt: the text mtst's int8 precision calibrates its activation
smoothing on (compiled into the binary). 128 sentences spread evenly over each bundled task's
training split (none from a validation or test split, nor from the benchmark corpus), single-line
texts only. Run from the repository root: python3 scripts/make_int8_calibration.py"""
import csv

PER_TASK = 128
out = []
for path in ("data/sentiment/train.csv", "data/sentence_type/train.csv"):
    with open(path, newline="", encoding="utf-8") as f:
        texts = [row["text"].strip() for row in csv.DictReader(f)]
    step = len(texts) // PER_TASK
    picked, i = [], 0
    while len(picked) < PER_TASK:
        text = texts[(i * step) % len(texts)]
        i += 1
        if text and "\n" not in text and "\r" not in text and ")mtst_calibration" not in text:
            picked.append(text)
    out += picked
with open("data/int8-calibration.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
