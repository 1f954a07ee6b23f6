"""mtst.MultiTaskModel: a model `mtst train` wrote (shared encoder + one head per task)."""

import os
from typing import Any, Dict, Iterable, List, Optional, Union

import numpy as np

from . import _mtst
from ._checks import existing_dir, positive_int, text_list, threads_arg
from ._encoder import SentenceEncoder, _require_str


def _model_dir(path: str) -> str:
    """A checkpoint directory (with mtst.json), or a run directory's final/ checkpoint."""
    if os.path.isfile(os.path.join(path, "mtst.json")):
        return path
    final = os.path.join(path, "final")
    if os.path.isfile(os.path.join(final, "mtst.json")):
        return final
    raise FileNotFoundError(
        f"{path}: not an mtst model (no mtst.json here, and no final/ checkpoint of a run)"
    )


class MultiTaskModel:
    """A trained multi-task model: a run directory (its ``final/``) or one checkpoint
    (``final/``, ``last/``, ``best-<task>/``).

    Args are those of :class:`SentenceEncoder`. ``predict`` gives the numbers ``mtst predict``
    prints; ``encode`` the sentence embeddings of the model's (fine-tuned) encoder.
    """

    def __init__(
        self,
        run_dir_or_checkpoint: str,
        device: str = "cpu",
        precision: str = "fp32",
        threads: Optional[int] = None,
    ) -> None:
        path = _model_dir(existing_dir(run_dir_or_checkpoint, "run_dir_or_checkpoint"))
        _require_str(device, "device")
        _require_str(precision, "precision")
        self._native = _mtst.MultiTaskModel(path, device, precision, threads_arg(threads))
        self.model_dir = path
        self._encoder = SentenceEncoder._wrap(self._native.encoder(), path)

    @property
    def tasks(self) -> Dict[str, List[str]]:
        """Every task's name and its labels, in the model's order."""
        return {name: list(labels) for name, labels in self._native.tasks}

    @property
    def encoder(self) -> SentenceEncoder:
        """The model's encoder (shares this object's weights and lock)."""
        return self._encoder

    def predict(
        self,
        texts: Union[str, Iterable[str]],
        batch_size: int = 32,
        return_embeddings: bool = False,
    ) -> Union[Dict[str, Any], List[Dict[str, Any]]]:
        """Per text and task the label and every label's probability, in the shape of
        ``mtst predict --format jsonl``: ``{"text": ..., "<task>": {"label": ...,
        "scores": {label: p}}}`` (plus ``"embedding"`` with return_embeddings). A single
        string gives one dict, a list a list of them."""
        single = isinstance(texts, str)
        rows = [texts] if single else _as_list(texts)
        text_list(rows, 0)
        probs, embeddings = self._native.predict(
            rows, positive_int(batch_size, "batch_size"), bool(return_embeddings)
        )
        out = []
        tasks = self._native.tasks
        for i, text in enumerate(rows):
            line: Dict[str, Any] = {"text": text}
            for (name, labels), p in zip(tasks, probs):
                scores = {label: float(p[i, c]) for c, label in enumerate(labels)}
                line[name] = {"label": labels[int(np.argmax(p[i]))], "scores": scores}
            if return_embeddings:
                line["embedding"] = embeddings[i]
            out.append(line)
        return out[0] if single else out

    def predict_proba(self, texts: Iterable[str], batch_size: int = 32) -> Dict[str, np.ndarray]:
        """Per task, the class probabilities [n, classes] (float32, the model's label order)."""
        rows = _as_list(texts)
        text_list(rows, 0)
        probs, _ = self._native.predict(rows, positive_int(batch_size, "batch_size"), False)
        return {name: p for (name, _), p in zip(self._native.tasks, probs)}

    def encode(self, sentences, **kwargs):
        """The sentence embeddings of the model's encoder: see :meth:`SentenceEncoder.encode`."""
        return self._encoder.encode(sentences, **kwargs)

    def __repr__(self) -> str:
        return f"mtst.MultiTaskModel({self.model_dir!r}, tasks={list(self.tasks)})"


def _as_list(texts: Any) -> List[Any]:
    if isinstance(texts, (bytes, bytearray, str)):
        raise TypeError(f"texts must be a list of str, not {type(texts).__name__}")
    try:
        return list(texts)
    except TypeError:
        raise TypeError(f"texts must be an iterable of str, not {type(texts).__name__}") from None
