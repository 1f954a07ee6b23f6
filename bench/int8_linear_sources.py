#!/usr/bin/env python3
"""Candidate int8 kernel sources for mtst's linear layers, measured on this machine: PyTorch's
dynamic quantized linear (per-channel s8 weights, u8 activations quantised per call, fp32 out)
through its FBGEMM and oneDNN engines, beside PyTorch's fp32 linear, at the model's four shapes
(hidden 384, FFN 1536: QKV 384->1152, attention output 384->384, FFN in 384->1536, FFN out
1536->384) and M token rows, one thread. Each figure is the whole op (quantise, integer
product, back to fp32) in G multiply-accumulates per second. mtst's own products are printed
by ONEDNN_VERBOSE=1 mtst bench encode --precision int8 (see docs/benchmarks.md).

    /opt/mtst/venv/bin/python bench/int8_linear_sources.py [--rows 1024] [--seconds 1]
"""
import argparse
import json
import time

import torch

SHAPES = [(384, 1152), (384, 384), (384, 1536), (1536, 384)]  # (in, out)


def rate(fn, macs, seconds):
    for _ in range(3):
        fn()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        done += 1
    return macs * done / (time.perf_counter() - start) / 1e9


def quantized(weight, bias, engine):
    torch.backends.quantized.engine = engine
    scales = (weight.abs().amax(1) / 127).double()
    zeros = torch.zeros(weight.size(0), dtype=torch.long)
    qweight = torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8)
    return torch.ops.quantized.linear_prepack(qweight, bias)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    engines = [e for e in ("fbgemm", "onednn") if e in torch.backends.quantized.supported_engines]
    for k, n in SHAPES:
        weight, bias = torch.randn(n, k) * 0.05, torch.randn(n) * 0.1
        x = torch.randn(args.rows, k)
        macs = args.rows * k * n
        row = {"in": k, "out": n, "rows": args.rows, "torch": torch.__version__}
        with torch.inference_mode():
            row["fp32"] = round(rate(lambda: torch.nn.functional.linear(x, weight, bias),
                                     macs, args.seconds), 1)
            for engine in engines:
                packed = quantized(weight, bias, engine)
                op = torch.ops.quantized.linear_dynamic
                row[engine] = round(rate(lambda: op(x, packed, False), macs, args.seconds), 1)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
