"""Argument checks shared by the package's classes: clear exceptions before any native call."""

import os
from typing import Any, List


def existing_dir(path: Any, what: str) -> str:
    """PATH as a str, which must name a directory (FileNotFoundError otherwise)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a path (str or os.PathLike), not {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{what} {path}: no such directory")
    return path


def positive_int(value: Any, what: str, allow_zero: bool = False) -> int:
    """VALUE as an int >= 1 (>= 0 with ALLOW_ZERO); bools and other types are a TypeError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    low = 0 if allow_zero else 1
    if value < low or value > 2**62:
        raise ValueError(f"{what} must be between {low} and 2**62, got {value}")
    return value


def threads_arg(threads: Any) -> int:
    """None -> 0 (the machine's physical cores), else an int >= 1."""
    return 0 if threads is None else positive_int(threads, "threads")


def text_list(items: List[Any], first_index: int) -> List[str]:
    """ITEMS checked to be str with valid Unicode (a lone surrogate cannot be UTF-8)."""
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(
                f"sentence {first_index + i} is {type(text).__name__}, not str "
                "(decode bytes first)"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(
                f"sentence {first_index + i} is not valid Unicode (it cannot be UTF-8): {e}"
            ) from None
    return items
