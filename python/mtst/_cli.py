"""The `mtst` command of the Python package: the CLI binary built with the package."""

import os
import sys


def binary() -> str:
    """The path of the mtst executable inside the package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "mtst")


def main() -> None:
    path = binary()
    os.execv(path, [path] + sys.argv[1:])
