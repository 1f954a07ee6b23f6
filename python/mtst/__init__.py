"""mtst: fast BERT sentence embeddings, multi-task heads, training and serving, from Python.

The same engine as the ``mtst`` command line (C++ on libtorch), in-process::

    import mtst
    model = mtst.SentenceEncoder("models/all-MiniLM-L6-v2")
    embeddings = model.encode(["A first sentence.", "And a second one."])

Classes and functions: :class:`SentenceEncoder`, :class:`MultiTaskModel`, :func:`train`,
:func:`evaluate`, :func:`serve` / :class:`Server`. Errors the CLI reports as
``mtst: error: ...`` are raised as :class:`mtst.Error` (a ``ValueError``) with the same
message; a missing path is a ``FileNotFoundError``; a wrong argument type a ``TypeError``.
"""

import torch as _torch  # first: the native module uses the libtorch this torch loaded

from . import _mtst
from ._encoder import SentenceEncoder
from ._multitask import MultiTaskModel
from ._serve import Server, serve
from ._training import evaluate, train

Error = _mtst.Error
Error.__module__ = "mtst"
Error.__doc__ = "An error mtst reports with a message a user can act on (a ValueError)."
__version__ = _mtst.__version__

__all__ = [
    "Error",
    "MultiTaskModel",
    "SentenceEncoder",
    "Server",
    "evaluate",
    "serve",
    "train",
    "__version__",
]
del _torch
