"""Encode peers of today's Python stack on the real all-MiniLM-L6-v2, for
bench/encode_vs_peers.sh: one engine per run, one JSON line out.

  encode_peer.py ENGINE --model DIR --corpus FILE [--precision fp32|bf16|int8]
                 [--batch-size 32] [--threads 2] [--seconds 20] [--work DIR]

ENGINE:
  st     SentenceTransformer(DIR).encode(corpus, batch_size) end to end (its own tokenization
         and length sorting included); bf16 = the model cast to bfloat16.
  torch  transformers AutoModel eager with scaled-dot-product attention (attn_implementation
         "sdpa") + masked mean pooling + L2, on pre-tokenized length-sorted batches; bf16 =
         CPU autocast.
  ort    ONNX Runtime (CPU provider, all graph optimisations) on the same batches, the model
         exported by torch.onnx; int8 = onnxruntime.quantization.quantize_dynamic (QInt8
         weights) of that export. Exports are kept in --work.
  mtst-python  the mtst package installed in this venv: mtst.SentenceEncoder(DIR).encode(corpus,
         batch_size) end to end, as st (tokenization included).
"""
import argparse
import os
from pathlib import Path

import numpy as np
import torch

from common import cosine_to_st_fp32, length_sorted_batches, read_corpus, report, timed_passes

MAX_LENGTH = 256  # the model's max_seq_length (sentence_bert_config.json)


def mean_pool_normalize(hidden, mask):
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled.float(), dim=-1)


def run_st(args, texts):
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(args.model, device="cpu")
    if args.precision == "bf16":
        model = model.to(torch.bfloat16)
    tokens = sum(len(i) for i in model.tokenizer(texts, truncation=True,
                                                 max_length=MAX_LENGTH)["input_ids"])
    passes, seconds = timed_passes(
        lambda: model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True),
        args.seconds)
    return tokens, passes, seconds, {}


def run_mtst_python(args, texts):
    import mtst
    model = mtst.SentenceEncoder(args.model, precision=args.precision, threads=args.threads)
    tokens = int(model.tokenize(texts)["attention_mask"].sum())
    passes, seconds = timed_passes(
        lambda: model.encode(texts, batch_size=args.batch_size), args.seconds)
    return tokens, passes, seconds, {"mtst": mtst.__version__}


def run_torch(args, texts):
    from transformers import AutoModel, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model, attn_implementation="sdpa").eval()
    batches, tokens = length_sorted_batches(tokenizer, texts, args.batch_size, MAX_LENGTH, "pt")

    def once():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                    enabled=args.precision == "bf16"):
            for b in batches:
                mean_pool_normalize(model(**b).last_hidden_state, b["attention_mask"])

    passes, seconds = timed_passes(once, args.seconds)
    return tokens, passes, seconds, {"attention": model.config._attn_implementation}


class HiddenStates(torch.nn.Module):
    """BertModel with positional inputs and one output, for torch.onnx.export."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state


def export_onnx(model_dir, path):
    from transformers import AutoModel
    bert = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(HiddenStates(bert), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(path),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                    "token_type_ids": axes, "last_hidden_state": axes})


def onnx_model(args):
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    fp32 = work / "minilm-fp32.onnx"
    if not fp32.exists():
        export_onnx(args.model, fp32)
    if args.precision != "int8":
        return fp32
    int8 = work / "minilm-int8.onnx"
    if not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return int8


def run_ort(args, texts):
    import onnxruntime as ort
    from transformers import AutoTokenizer
    path = onnx_model(args)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = args.threads, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    batches, tokens = length_sorted_batches(tokenizer, texts, args.batch_size, MAX_LENGTH, "np")
    feeds = [{k: b[k].astype(np.int64) for k in ("input_ids", "attention_mask",
                                                  "token_type_ids")} for b in batches]

    def embed(f):
        hidden = session.run(None, f)[0]
        mask = f["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)  # L2, as the others

    passes, seconds = timed_passes(lambda: [embed(f) for f in feeds], args.seconds)
    extra = {"onnxruntime": ort.__version__}
    if args.quality:
        sample = texts[:args.quality]
        got = np.concatenate([embed({k: v.astype(np.int64) for k, v in tokenizer(
            sample[b:b + 32], padding=True, truncation=True, max_length=MAX_LENGTH,
            return_tensors="np").items()}) for b in range(0, len(sample), 32)])
        extra.update(cosine_to_st_fp32(args.model, sample, got))
    return tokens, passes, seconds, extra


def main():
    ap = argparse.ArgumentParser(description="encode peer on the real all-MiniLM-L6-v2")
    ap.add_argument("engine", choices=["st", "torch", "ort", "mtst-python"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--work", default=os.path.join(os.path.dirname(__file__), "..", ".peer"))
    ap.add_argument("--quality", type=int, default=0,
                    help="ort: also the cosine of the first N corpus embeddings to ST fp32")
    args = ap.parse_args()
    if args.precision == "int8" and args.engine not in ("ort", "mtst-python"):
        ap.error("int8 is an ONNX Runtime peer (ort --precision int8)")
    torch.set_num_threads(args.threads)
    texts = read_corpus(args.corpus)
    run = {"st": run_st, "torch": run_torch, "ort": run_ort,
           "mtst-python": run_mtst_python}[args.engine]
    tokens, passes, seconds, extra = run(args, texts)
    report(args.engine, args.precision, len(texts), tokens, passes, seconds,
           batch_size=args.batch_size, torch=torch.__version__, **extra)


if __name__ == "__main__":
    main()
