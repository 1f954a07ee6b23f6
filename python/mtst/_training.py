"""mtst.train and mtst.evaluate: `mtst train` and `mtst evaluate` in-process."""

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _mtst
from ._checks import existing_dir, positive_int, threads_arg
from ._encoder import _require_str
from ._multitask import _model_dir


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns."""

    run_dir: str  # the run directory: final/, last/, best-<task>/, metrics.jsonl, TensorBoard
    metrics: Dict[str, Dict[str, Any]]  # per task: the last validation (accuracy, macro_f1, ...)
    steps: int  # the run's step count
    early_stopped: bool
    seconds: float  # this call's wall time


def train(
    config: Union[str, "os.PathLike[str]", Dict[str, Any]],
    output: Optional[str] = None,
    overrides: Optional[Sequence[str]] = None,
    resume: Optional[str] = None,
    progress: bool = True,
    overwrite: bool = False,
) -> TrainResult:
    """Trains a multi-task model, as ``mtst train`` does.

    Args:
        config: a JSON config file, or a dict with the same schema (relative paths in a dict
            are relative to the current directory; in a file, to the file's directory). None
            with ``resume``.
        output: the run directory (default: ``runs/<config file name>``, ``runs/train`` for
            a dict).
        overrides: ``"key=value"`` strings, as ``--set``.
        resume: continue the run in this directory (or its ``last/``).
        progress: the progress line on stderr.
        overwrite: replace a previous run in ``output``.

    Ctrl-C stops after the current step, leaves ``last/`` saved (``resume`` continues it),
    then raises ``KeyboardInterrupt``. Bad configs raise :class:`mtst.Error`.
    """
    overrides = _string_list(overrides, "overrides")
    path, text, base = "", "", os.getcwd()
    if resume is not None:
        if config is not None:
            raise ValueError("resume continues the saved run's config: pass config=None")
        resume = existing_dir(resume, "resume")
    elif isinstance(config, dict):
        text = json.dumps(config)
        output = "runs/train" if output is None else output
    elif isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"config {path}: no such file")
        if output is None:
            output = os.path.join("runs", os.path.splitext(os.path.basename(path))[0])
    else:
        raise TypeError(f"config must be a path or a dict, not {type(config).__name__}")
    if output is not None:
        _require_str(output, "output")
    result = json.loads(
        _mtst.train(
            path, text, base, output or "", overrides, resume or "", bool(progress), bool(overwrite)
        )
    )
    validation = result["last_validation"] or []
    return TrainResult(
        run_dir=result["run_dir"],
        metrics={m["task"]: m for m in validation},
        steps=result["steps"],
        early_stopped=result["early_stopped"],
        seconds=result["seconds"],
    )


def evaluate(
    model: str,
    split: str = "test",
    data: Optional[str] = None,
    task: Optional[str] = None,
    batch_size: int = 64,
    device: str = "cpu",
    precision: str = "fp32",
    threads: Optional[int] = None,
) -> Dict[str, Any]:
    """The report of ``mtst evaluate --format json``: ``{"model", "tasks": [{"task",
    "accuracy", "macro_f1", "loss", "per_class", "confusion_matrix", "data", ...}]}``, on a
    split of the model's training config or on a labelled ``data`` file for one ``task``.
    ``model`` is a checkpoint or a run directory (its ``final/``)."""
    path = _model_dir(existing_dir(model, "model"))
    for value, what in ((split, "split"), (device, "device"), (precision, "precision")):
        _require_str(value, what)
    if data is not None:
        data = os.fspath(data)
        if not os.path.isfile(data):
            raise FileNotFoundError(f"data {data}: no such file")
    if task is not None:
        _require_str(task, "task")
    report = _mtst.evaluate(
        path,
        split,
        data or "",
        task or "",
        positive_int(batch_size, "batch_size"),
        device,
        precision,
        threads_arg(threads),
    )
    return json.loads(report)


def _string_list(values: Optional[Sequence[str]], what: str) -> List[str]:
    if values is None:
        return []
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"{what} must be a list of str")
    return list(values)
