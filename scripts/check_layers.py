#!/usr/bin/env python3
"""Checks that no source file includes a header of a higher layer (docs/architecture.md,
"Layers"). A folder may include its own headers and those of any lower folder. Run by ctest
(layers.includes); exits 1 and names every offending include."""
import pathlib
import re
import sys

# Lowest first. "base" is include/mtst/error.h.
LAYERS = ["base", "io", "text", "distributed", "runtime", "ops", "model", "train", "serve",
          "cli", "python"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of_file(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = path.relative_to(root).parts
    if parts[0] == "python":
        return "python"
    if parts[0] == "include":  # include/mtst/<folder>/x.h or include/mtst/error.h
        return parts[2] if len(parts) > 3 else "base"
    return parts[1]  # src/<folder>/...


def folder_of_include(name: str) -> str | None:
    parts = name.split("/")
    if parts[0] == "mtst":
        return parts[1] if len(parts) > 2 else "base"
    return parts[0] if parts[0] in LAYERS and len(parts) > 1 else None  # "ops/linear.h"


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    sources = [p for d in ("src", "include", "python/src") for p in (root / d).rglob("*")
               if p.suffix in (".h", ".cpp", ".in")]
    problems = []
    for path in sorted(sources):
        here = folder_of_file(path, root)
        if here not in LAYERS:
            problems.append(f"{path.relative_to(root)}: folder '{here}' has no layer")
            continue
        for name in INCLUDE.findall(path.read_text(encoding="utf-8")):
            there = folder_of_include(name)
            if there is None:
                continue  # a header beside the file, or a generated one
            if there not in LAYERS:
                problems.append(f"{path.relative_to(root)}: includes {name} of no layer")
            elif LAYERS.index(there) > LAYERS.index(here):
                problems.append(f"{path.relative_to(root)} ({here}) includes {name} ({there}), "
                                "a higher layer")
    for p in problems:
        print(p)
    print(f"check_layers: {len(sources)} files, {len(problems)} problems; order: "
          + " < ".join(LAYERS))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
