"""mtst.SentenceEncoder: sentence-transformers' encode() on mtst's engine."""

import itertools
import sys
from typing import Any, Dict, Iterable, List, Optional, Union

import numpy as np
import torch

from . import _mtst
from ._checks import existing_dir, positive_int, text_list, threads_arg

# Texts per native call: the chunk `mtst encode` streams by (within a chunk texts are sorted by
# length into batches), so both give the same bits and memory stays bounded for any input.
_CHUNK = _mtst.STREAM_CHUNK


class SentenceEncoder:
    """A sentence-transformers or Hugging Face BERT model directory, loaded once.

    Args:
        model_dir: the model directory (e.g. ``models/all-MiniLM-L6-v2``).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        precision: ``"fp32"`` (exact; the default), ``"bf16"``, ``"fp16"`` (CUDA), ``"int8"``
            (CPU), ``"auto"`` or ``"auto-int8"``, as for ``mtst encode --precision``.
        threads: CPU threads of this object's calls (None: the machine's physical cores).

    One object runs one call at a time (calls from other threads wait for it); objects of
    their own, each with its share of ``threads``, encode in parallel. Raises
    ``FileNotFoundError`` for a missing directory and :class:`mtst.Error` for a model mtst
    cannot load or a device/precision it cannot run.
    """

    def __init__(
        self,
        model_dir: str,
        device: str = "cpu",
        precision: str = "fp32",
        threads: Optional[int] = None,
    ) -> None:
        model_dir = existing_dir(model_dir, "model_dir")
        _require_str(device, "device")
        _require_str(precision, "precision")
        self._native = _mtst.Encoder(model_dir, device, precision, threads_arg(threads))
        self.model_dir = model_dir
        self._max_seq_length = self._native.max_seq_length

    @classmethod
    def _wrap(cls, native: Any, model_dir: str) -> "SentenceEncoder":
        self = cls.__new__(cls)
        self._native = native
        self.model_dir = model_dir
        self._max_seq_length = native.max_seq_length
        return self

    @property
    def max_seq_length(self) -> int:
        """Longer inputs are truncated to this many tokens (settable, as in sentence-transformers)."""
        return self._max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        limit = self._native.max_position_embeddings
        value = positive_int(value, "max_seq_length")
        if value > limit:
            raise ValueError(f"max_seq_length {value} is over the model's {limit} positions")
        self._max_seq_length = value

    @property
    def device(self) -> str:
        return self._native.device

    @property
    def precision(self) -> str:
        return self._native.precision

    def get_sentence_embedding_dimension(self) -> int:
        """The length of each embedding (384 for all-MiniLM-L6-v2)."""
        return self._native.dimension

    def encode(
        self,
        sentences: Union[str, Iterable[str]],
        batch_size: int = 32,
        normalize_embeddings: Optional[bool] = None,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        show_progress_bar: bool = False,
    ) -> Union[np.ndarray, torch.Tensor, List[torch.Tensor]]:
        """Sentence embeddings, as ``SentenceTransformer.encode`` returns them.

        Args:
            sentences: one string, a list, or any iterable (a generator is read a chunk at a
                time: memory holds one chunk of texts, plus the result).
            batch_size: sentences per forward pass (sorted by length first, as ST does).
            normalize_embeddings: True L2-normalises; None or False keep the model's own
                behaviour (its Normalize module, if it has one), as in sentence-transformers.
            convert_to_numpy: a float32 ``np.ndarray`` of shape (n, dim) (the default).
            convert_to_tensor: a ``torch.Tensor`` over the same memory instead (no copy).
            show_progress_bar: a progress bar on stderr (tqdm when installed).

        Both False gives a list of 1-D tensors. A single string gives shape (dim,); no
        sentences give shape (0, dim).
        """
        batch_size = positive_int(batch_size, "batch_size")
        if normalize_embeddings not in (None, True, False):
            raise TypeError("normalize_embeddings must be True, False or None")
        single = isinstance(sentences, str)
        if single:
            sentences = [sentences]
        elif isinstance(sentences, (bytes, bytearray)) or not _iterable(sentences):
            raise TypeError(
                f"sentences must be a str or an iterable of str, not {type(sentences).__name__}"
            )
        normalize = 1 if normalize_embeddings else -1
        parts = []
        done = 0
        progress = _Progress(show_progress_bar, sentences)
        for chunk in _chunks(iter(sentences), _CHUNK):
            text_list(chunk, done)
            parts.append(self._native.encode(chunk, batch_size, normalize, self._max_seq_length))
            done += len(chunk)
            progress.update(len(chunk))
        progress.close()
        if len(parts) == 1:
            embeddings = parts[0]
        elif parts:
            embeddings = np.concatenate(parts)
        else:
            embeddings = np.zeros((0, self.get_sentence_embedding_dimension()), np.float32)
        if single:
            embeddings = embeddings[0]
        if convert_to_tensor:
            return torch.from_numpy(embeddings)
        if convert_to_numpy:
            return embeddings
        return list(torch.from_numpy(embeddings)) if not single else torch.from_numpy(embeddings)

    def tokenize(self, texts: Union[str, List[str]]) -> Dict[str, torch.Tensor]:
        """``input_ids``, ``attention_mask`` and ``token_type_ids`` [n, longest] int64 tensors,
        padded and truncated to ``max_seq_length`` as Hugging Face's tokenizer does."""
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, (list, tuple)):
            raise TypeError(f"texts must be a str or a list of str, not {type(texts).__name__}")
        texts = text_list(list(texts), 0)
        ids, mask = self._native.tokenize(texts, self._max_seq_length)
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}

    def __repr__(self) -> str:
        return (
            f"mtst.SentenceEncoder({self.model_dir!r}, device={self.device!r}, "
            f"precision={self.precision!r}, dimension={self.get_sentence_embedding_dimension()})"
        )


def _require_str(value: Any, what: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")


def _iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _chunks(iterator, size: int):
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk
        if len(chunk) < size:
            return


class _Progress:
    """A progress bar over sentences: tqdm where installed, else a line on stderr."""

    def __init__(self, enabled: bool, sentences: Any) -> None:
        self._bar = None
        self._enabled = bool(enabled)
        self._done = 0
        if not self._enabled:
            return
        total = len(sentences) if hasattr(sentences, "__len__") else None
        try:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="Encoding", unit="sentences")
        except ImportError:
            pass

    def update(self, n: int) -> None:
        self._done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._enabled:
            print(f"\rEncoding: {self._done} sentences", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._enabled:
            print(file=sys.stderr)
