#!/usr/bin/env python3
"""Checks that no function body in src/ or python/src/ is longer than 80 lines (the house rule:
a function reads at once). A body is a brace block that opens at namespace, class or file
level and is not itself a namespace, class, struct, union or enum; lambdas and nested blocks
count toward the function that holds them. Comments and string literals are ignored when
braces are matched. Run by ctest (layers.function_length); exits 1 and names each offender."""
import pathlib
import re
import sys

LIMIT = 80
CONTAINER = re.compile(r"\b(namespace|class|struct|union|enum)\b[^()]*$")


def code_only(line: str) -> str:
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return re.sub(r"//.*", "", line)


def long_functions(path: pathlib.Path):
    lines = path.read_text(encoding="utf-8").split("\n")
    stack = []  # (is_container, opening line index)
    in_comment = False
    for i, raw in enumerate(lines):
        line = raw
        if in_comment:
            if "*/" not in line:
                continue
            line, in_comment = line.split("*/", 1)[1], False
        line = re.sub(r"/\*.*?\*/", "", line)
        if "/*" in line:
            line, in_comment = line.split("/*", 1)[0], True
        line = code_only(line)
        before = ""
        for ch in line:
            if ch == "{":
                head = (code_only(lines[i - 1]) if i else "") + " " + before
                container = bool(CONTAINER.search(head)) or head.strip().startswith("extern")
                stack.append((container, i))
            elif ch == "}" and stack:
                container, start = stack.pop()
                if not container and all(c for c, _ in stack):
                    length = i - start + 1
                    if length > LIMIT:
                        yield start + 1, length, lines[start].strip()
            before += ch


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    problems = 0
    files = 0
    for folder in ("src", "python/src"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".cpp", ".h", ".cu"):
                continue
            files += 1
            for line, length, text in long_functions(path):
                problems += 1
                print(f"{path.relative_to(root)}:{line}: a function of {length} lines "
                      f"(limit {LIMIT}): {text[:70]}")
    print(f"check_function_length: {files} files, {problems} functions over {LIMIT} lines")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
