"""The OpenVINO peers of bench/encode_vs_peers.sh: what a sentence-transformers user gets with
one argument, run in a venv of its own (optimum-intel's pins clash with the references venv):

  openvino_peer.py --model DIR --corpus FILE --precision fp32|int8 [--batch-size 32]
                   [--threads 2] [--seconds 20] [--work DIR] [--calibration FILE]
                   [--quality N]

fp32: SentenceTransformer(DIR, backend="openvino").encode(corpus) end to end.
int8: sentence_transformers.export_static_quantized_openvino_model (NNCF static int8), calibrated
      offline on --calibration (one sentence per line; default mtst's data/int8-calibration.txt,
      the text mtst's own int8 calibrates on), then loaded and timed the same way.
--quality N also reports the cosine of the first N corpus embeddings to sentence-transformers'
fp32 torch model (min and mean), the quality figures of docs/benchmarks.md.
"""
import argparse
import csv
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from common import read_corpus, report, timed_passes

INT8_FILE = "openvino/openvino_model_qint8_quantized.xml"


def calibration_folder(work, calibration):
    folder = work / "ov-calibration"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"])
        for line in read_corpus(calibration):
            if line:
                w.writerow([line])
    return folder


def int8_model_dir(args, work):
    """A copy of the model with ST's static int8 OpenVINO export inside (made once)."""
    from optimum.intel import OVQuantizationConfig
    from sentence_transformers import SentenceTransformer, export_static_quantized_openvino_model
    target = work / "ov-int8-model"
    if not (target / INT8_FILE).exists():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(args.model, target)
        model = SentenceTransformer(str(target), backend="openvino")
        export_static_quantized_openvino_model(
            model, quantization_config=OVQuantizationConfig(num_samples=256),
            model_name_or_path=str(target),
            dataset_name=str(calibration_folder(work, args.calibration)),
            dataset_config_name="default", dataset_split="train", column_name="text")
    return target


def load(args, work):
    from sentence_transformers import SentenceTransformer
    kwargs = {"ov_config": {"INFERENCE_NUM_THREADS": str(args.threads)}}
    if args.precision == "int8":
        kwargs["file_name"] = INT8_FILE
        return SentenceTransformer(str(int8_model_dir(args, work)), backend="openvino",
                                   device="cpu", model_kwargs=kwargs)
    return SentenceTransformer(args.model, backend="openvino", device="cpu", model_kwargs=kwargs)


def quality(args, model, texts):
    from sentence_transformers import SentenceTransformer
    sample = texts[:args.quality]
    ref = SentenceTransformer(args.model, device="cpu").encode(sample, batch_size=32)
    got = model.encode(sample, batch_size=32)
    cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    return {"min_cosine_vs_fp32": float(cos.min()), "mean_cosine_vs_fp32": float(cos.mean()),
            "quality_sentences": len(sample)}


def main():
    ap = argparse.ArgumentParser(description="OpenVINO encode peers (sentence-transformers)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--work", default=os.path.join(os.path.dirname(__file__), "..", ".peer"))
    ap.add_argument("--calibration", default=str(Path(__file__).resolve().parents[2] / "data" /
                                                 "int8-calibration.txt"))
    ap.add_argument("--quality", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.work).resolve()
    texts = read_corpus(args.corpus)
    model = load(args, work)
    tokens = sum(len(i) for i in model.tokenizer(texts, truncation=True,
                                                 max_length=256)["input_ids"])
    passes, seconds = timed_passes(
        lambda: model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True),
        args.seconds)
    extra = quality(args, model, texts) if args.quality else {}
    report("st-openvino", args.precision, len(texts), tokens, passes, seconds, **extra)


if __name__ == "__main__":
    main()
