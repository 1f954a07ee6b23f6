"""Shared pieces of the encode peers: the corpus, HF tokenization batched as
sentence-transformers does (sorted by length, padded to each batch's longest), and the
one-line JSON result every bench script prints."""
import json
import time

import numpy as np
import torch


def read_corpus(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def length_sorted_batches(tokenizer, texts, batch_size, max_length, return_tensors):
    """Padded batches of the texts, longest first (the order mtst and sentence-transformers
    use), plus the real token count."""
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True,
                                             max_length=max_length)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    batches = []
    for b in range(0, len(order), batch_size):
        part = [texts[i] for i in order[b:b + batch_size]]
        batches.append(tokenizer(part, padding=True, truncation=True, max_length=max_length,
                                 return_tensors=return_tensors))
    return batches, sum(lengths)


def timed_passes(run_once, min_seconds):
    """Runs RUN_ONCE (one whole corpus pass) after one warm-up pass until MIN_SECONDS have
    passed; returns (passes, seconds)."""
    run_once()
    passes, start = 0, time.perf_counter()
    while True:
        run_once()
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return passes, elapsed


def report(engine, precision, sentences, tokens, passes, seconds, **extra):
    line = {"engine": engine, "precision": precision,
            "sentences_per_s": round(sentences * passes / seconds, 1),
            "tokens_per_s": round(tokens * passes / seconds, 1),
            "passes": passes, "seconds": round(seconds, 3), "threads": torch.get_num_threads(),
            **extra}
    print(json.dumps(line), flush=True)


def cosine_to_st_fp32(model_dir, texts, embeddings):
    """Min and mean cosine of EMBEDDINGS (one row per text) to sentence-transformers' fp32
    torch embeddings of the same texts: the quality figures of docs/benchmarks.md."""
    from sentence_transformers import SentenceTransformer
    ref = SentenceTransformer(model_dir, device="cpu").encode(texts, batch_size=32)
    got = np.asarray(embeddings, dtype=np.float32)
    cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    return {"min_cosine_vs_fp32": float(cos.min()), "mean_cosine_vs_fp32": float(cos.mean()),
            "quality_sentences": len(texts)}
