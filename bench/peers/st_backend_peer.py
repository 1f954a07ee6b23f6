"""The sentence-transformers backend peers of bench/encode_vs_peers.sh: what an ST user gets
with one argument, each run in a venv of its own (optimum-intel's and optimum-onnx's pins clash
with the references venv's transformers):

  st_backend_peer.py --backend openvino|onnx --model DIR --corpus FILE
                     --precision fp32|default|int8
                     [--batch-size 32] [--threads 2] [--seconds 20] [--work DIR]
                     [--calibration FILE] [--quality N]

openvino default: SentenceTransformer(DIR, backend="openvino").encode(corpus) end to end, as
      a user gets it: OpenVINO's CPU plugin then computes in its default inference precision,
      which is bf16 on CPUs with avx512_bf16 or AMX (the JSON line names it).
openvino fp32: the same with INFERENCE_PRECISION_HINT f32 (fp32 arithmetic on every CPU).
openvino int8: sentence_transformers.export_static_quantized_openvino_model (NNCF static int8),
      calibrated offline on --calibration (one sentence per line; default mtst's
      data/int8-calibration.txt, the text mtst's own int8 calibrates on), then loaded and timed
      the same way.
onnx fp32: SentenceTransformer(DIR, backend="onnx") (optimum's ONNX export, ONNX Runtime).
onnx int8: sentence_transformers.export_dynamic_quantized_onnx_model with the preset for this
      CPU ("avx512_vnni" where the CPU has VNNI, else "avx2"): per-channel s8 weights, dynamic
      u8 activations, ONNX Runtime.
--quality N also reports the cosine of the first N corpus embeddings to sentence-transformers'
fp32 torch model (min and mean), the quality figures of docs/benchmarks.md.
"""
import argparse
import csv
import os
import shutil
from pathlib import Path

import torch

from common import cosine_to_st_fp32, read_corpus, report, timed_passes

OV_INT8_FILE = "openvino/openvino_model_qint8_quantized.xml"


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


def onnx_preset():
    """ST's dynamic-quantisation preset for this CPU."""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        flags = f.read()
    return "avx512_vnni" if " avx512_vnni" in flags else "avx2"


def ov_int8_model_dir(args, work):
    """A copy of the model with ST's static int8 OpenVINO export inside (made once)."""
    from optimum.intel import OVQuantizationConfig
    from sentence_transformers import SentenceTransformer, export_static_quantized_openvino_model
    target = work / "ov-int8-model"
    if not (target / OV_INT8_FILE).exists():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(args.model, target)
        model = SentenceTransformer(str(target), backend="openvino")
        export_static_quantized_openvino_model(
            model, quantization_config=OVQuantizationConfig(num_samples=256),
            model_name_or_path=str(target),
            dataset_name=str(calibration_folder(work, args.calibration)),
            dataset_config_name="default", dataset_split="train", column_name="text")
    return target


def onnx_model_dir(args, work, file_name):
    """A copy of the model with ST's ONNX export (fp32) and its dynamic int8 one (made once)."""
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model
    target = work / "onnx-model"
    if not (target / file_name).exists():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(args.model, target)
        model = SentenceTransformer(str(target), backend="onnx", device="cpu")
        model.save(str(target))
        export_dynamic_quantized_onnx_model(model, quantization_config=onnx_preset(),
                                            model_name_or_path=str(target))
    return target


def load_onnx(args, work):
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer
    file_name = ("onnx/model.onnx" if args.precision == "fp32"
                 else f"onnx/model_qint8_{onnx_preset()}.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = args.threads, 1
    kwargs = {"file_name": file_name, "provider": "CPUExecutionProvider",
              "session_options": options}
    return SentenceTransformer(str(onnx_model_dir(args, work, file_name)), backend="onnx",
                               device="cpu", model_kwargs=kwargs)


def load(args, work):
    from sentence_transformers import SentenceTransformer
    if args.backend == "onnx":
        return load_onnx(args, work)
    kwargs = {"ov_config": {"INFERENCE_NUM_THREADS": str(args.threads)}}
    if args.precision == "fp32":
        kwargs["ov_config"]["INFERENCE_PRECISION_HINT"] = "f32"
    if args.precision == "int8":
        kwargs["file_name"] = OV_INT8_FILE
        return SentenceTransformer(str(ov_int8_model_dir(args, work)), backend="openvino",
                                   device="cpu", model_kwargs=kwargs)
    return SentenceTransformer(args.model, backend="openvino", device="cpu", model_kwargs=kwargs)


def quality(args, model, texts):
    sample = texts[:args.quality]
    return cosine_to_st_fp32(args.model, sample, model.encode(sample, batch_size=32))


def main():
    ap = argparse.ArgumentParser(description="sentence-transformers backend encode peers")
    ap.add_argument("--backend", required=True, choices=["openvino", "onnx"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "default", "int8"])
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
    if args.backend == "openvino":
        compiled = model[0].auto_model.request
        extra["inference_precision"] = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
    report(f"st-{args.backend}", args.precision, len(texts), tokens, passes, seconds, **extra)


if __name__ == "__main__":
    main()
