#!/usr/bin/env python3
"""The docs test: README.md and docs/*.md run as written, and name only real options.

  check_docs.py options --mtst BIN      every `mtst ...` command in the docs (code blocks and
                                        inline code) uses options its subcommand's --help
                                        lists, docs/cli.md's option tables list exactly the
                                        options of each --help, both ways, no doc points
                                        outside the repository (../shared), and every
                                        relative link leads to a file and heading that exist
  check_docs.py blocks --mtst BIN       runs every bash/sh block (and every python block, with
                                        the references venv's python when it has the mtst
                                        package) from the repository root, in file order,
                                        failing on a non-zero exit; lists what it excluded
  check_docs.py self-test --mtst BIN    renames an option in a copy of the docs and checks
                                        that the options check then fails

--only FILE... limits a mode to those files. A block is excluded by the line `<!-- docs-test: skip: REASON -->` right above its opening
fence. In the blocks, `build/mtst` is replaced by the binary under test, and `head` drains its
input (so a command piped into it runs to the end and its exit status counts).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = re.compile(r"<!--\s*docs-test:\s*skip:\s*(.*?)\s*-->")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
SHELL = {"bash", "sh", "shell"}
BLOCK_TIMEOUT_S = 600


ONLY = []  # --only: these files instead of all


def doc_files(root):
    if ONLY:
        return [root / f for f in ONLY]
    return [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def blocks(path):
    """(first line number, language, text, skip reason or None) of each fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(2).lower()
        j = i + 1
        while j < len(lines) and not FENCE.match(lines[j]):
            j += 1
        prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        skip = SKIP.search(prev)
        out.append((start + 1, lang, "\n".join(lines[start + 1 : j]), skip.group(1) if skip else None))
        i = j + 1
    return out


# ---- options -------------------------------------------------------------------------------


def help_options(mtst, words):
    """Options --help lists for `mtst WORDS`, and its subcommands."""
    out = subprocess.run([mtst, *words, "--help"], capture_output=True, text=True, check=True).stdout
    options, subs, section = set(), [], None
    for line in out.splitlines():
        if line.rstrip().endswith(":") and not line.startswith(" "):
            section = line.strip()[:-1]
            continue
        if section == "Options":
            m = re.match(r"^\s+(?:-\w,)?(--[\w-]+)", line)
            if m and m.group(1) != "--help":
                options.add(m.group(1))
        elif section == "Subcommands":
            m = re.match(r"^\s+(\w+)\s", line)
            if m:
                subs.append(m.group(1))
    return options, subs


def all_help(mtst):
    """{('encode',): {...}, ('bench', 'encode'): {...}, ...}"""
    table = {}
    _, top = help_options(mtst, [])
    for sub in top:
        options, nested = help_options(mtst, [sub])
        if nested:
            for inner in nested:
                table[(sub, inner)] = help_options(mtst, [sub, inner])[0]
        else:
            table[(sub,)] = options
    return table


def commands_in(text):
    """(subcommand words, options) of every `mtst ...` invocation in TEXT."""
    text = text.replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        for part in re.split(r"\|\||&&|[|;&()]", line):
            tokens = part.split()
            for i, tok in enumerate(tokens):
                if tok in ("mtst", "build/mtst") or tok.endswith("/build/mtst"):
                    rest = tokens[i + 1 :]
                    words = [w for w in rest[:2] if re.fullmatch(r"[a-z]+", w)]
                    opts = [o for t in rest if t.startswith("--") for o in re.findall(r"--[\w-]+", t)]
                    found.append((words, opts))
                    break
    return found


def check_commands(root, table):
    problems = []
    for path in doc_files(root):
        text = path.read_text(encoding="utf-8")
        snippets = [b[2] for b in blocks(path) if b[1] in SHELL or b[1] == ""]
        snippets += re.findall(r"`((?:build/)?mtst [^`]+)`", text)
        for snippet in snippets:
            for words, opts in commands_in(snippet):
                key = next((k for k in (tuple(words[:2]), tuple(words[:1])) if k in table), None)
                if key is None:
                    if words:
                        problems.append(f"{path.name}: `mtst {' '.join(words)}`: no such subcommand")
                    continue
                for opt in opts:
                    if opt != "--help" and opt not in table[key]:
                        problems.append(
                            f"{path.name}: `mtst {' '.join(key)} {opt}`: not an option of "
                            f"`mtst {' '.join(key)}` (its --help lists {', '.join(sorted(table[key]))})"
                        )
    return problems


def check_cli_tables(root, table):
    """docs/cli.md: one '## `mtst X`' section per subcommand whose table lists its options."""
    problems, sections, current = [], {}, None
    for line in (root / "docs" / "cli.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## `mtst ([a-z ]+)`", line)
        if m:
            current = tuple(m.group(1).split())
            sections[current] = set()
        elif line.startswith("## "):
            current = None
        elif current and line.startswith("| `--"):
            sections[current].update(re.findall(r"`(--[\w-]+)", line.split("|")[1]))
    for key, options in table.items():
        name = "mtst " + " ".join(key)
        if key not in sections:
            problems.append(f"cli.md: no section '## `{name}`'")
            continue
        for opt in sorted(options - sections[key]):
            problems.append(f"cli.md: `{name} {opt}` is in --help but not documented")
        for opt in sorted(sections[key] - options):
            problems.append(f"cli.md: `{name} {opt}` is documented but not in --help")
    return problems


def check_outside_paths(root):
    """No doc may send a user to files outside the repository's own tree."""
    problems = []
    for path in doc_files(root):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "../shared" in line:
                problems.append(f"{path.name}:{n}: names ../shared, which users do not have")
    return problems


def heading_anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def check_links(root):
    """Every relative link points at a file of the repository, and at a heading that exists."""
    anchors, problems = {}, []
    for path in doc_files(root):
        text = path.read_text(encoding="utf-8")
        anchors[path.resolve()] = {heading_anchor(h) for h in re.findall(r"^#+\s+(.*)$", text, re.M)}
    for path in doc_files(root):
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            file, _, anchor = target.partition("#")
            resolved = (path.parent / file).resolve() if file else path.resolve()
            if not resolved.exists():
                problems.append(f"{path.name}: link to {target}: no such file")
            elif anchor and resolved in anchors and anchor not in anchors[resolved]:
                problems.append(f"{path.name}: link to {target}: no such heading")
    return problems


def run_options(root, mtst):
    table = all_help(mtst)
    problems = check_commands(root, table) + check_cli_tables(root, table)
    problems += check_outside_paths(root) + check_links(root)
    for p in problems:
        print("docs:", p)
    count = sum(len(v) for v in table.values())
    print(f"docs: {len(table)} subcommands, {count} options checked; {len(problems)} problems")
    return 1 if problems else 0


# ---- blocks --------------------------------------------------------------------------------

HEAD_DRAINS = 'head() { command head "$@"; local s=$?; cat >/dev/null; return $s; }\n'


def venv_python():
    python = Path(os.environ.get("MTST_VENV", "/opt/mtst/venv")) / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import mtst"], capture_output=True).returncode == 0:
        return str(python)
    return None


def run_block(lang, text, mtst, python):
    if lang in SHELL:
        script = HEAD_DRAINS + re.sub(r"(?<![\w/.])build/mtst\b", mtst, text)
        cmd = ["bash", "-e", "-o", "pipefail", "-c", script]
    else:
        cmd = [python, "-c", text]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # Its own process group: a block that times out is killed with everything it started (a
    # server left running would hold its port for the blocks after it).
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"did not finish in {BLOCK_TIMEOUT_S} s"
    if proc.returncode != 0:
        return f"exit {proc.returncode}\n--- stdout (end)\n{out[-1500:]}\n--- stderr (end)\n{err[-1500:]}"
    return None


def run_blocks(root, mtst):
    required = os.environ.get("MTST_REQUIRE_REFERENCES") == "1"  # scripts/test.sh sets it
    if not (root / "models" / "all-MiniLM-L6-v2" / "model.safetensors").exists():
        print("docs: the real model is not at models/all-MiniLM-L6-v2 (scripts/setup.sh places it)")
        return 1 if required else 77
    python = venv_python()
    if python is None and required:
        print("docs: the references venv has no mtst package (scripts/install_python.sh installs it)")
        return 1
    ran, excluded, failed = 0, [], []
    for path in doc_files(root):
        for line, lang, text, skip in blocks(path):
            where = f"{path.relative_to(root)}:{line}"
            if lang not in SHELL and lang != "python":
                continue
            if skip is not None:
                excluded.append(f"{where} ({skip})")
                continue
            if lang == "python" and python is None:
                excluded.append(f"{where} (python: the references venv has no mtst package)")
                continue
            print(f"docs: running {where} ({lang})", flush=True)
            error = run_block(lang, text, mtst, python)
            ran += 1
            if error:
                failed.append(where)
                print(f"docs: FAILED {where}: {error}\n--- the block\n{text}", flush=True)
    for e in excluded:
        print("docs: excluded", e)
    print(f"docs: {ran} blocks run, {len(failed)} failed, {len(excluded)} excluded")
    return 1 if failed else 0


# ---- self-test -----------------------------------------------------------------------------


def run_self_test(root, mtst):
    """The options check must catch a renamed option, in a table and in a command."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copy(root / "README.md", copy / "README.md")
        shutil.copytree(root / "docs", copy / "docs")
        # The rest of the tree by links, so the docs' links to LICENSE, data/... still resolve.
        for entry in root.iterdir():
            if not (copy / entry.name).exists():
                (copy / entry.name).symlink_to(entry)
        if run_options(copy, mtst) != 0:
            print("docs self-test: the unmodified copy already fails")
            return 1
        cli = copy / "docs" / "cli.md"
        text = cli.read_text(encoding="utf-8")
        mutated = text.replace("| `--max-seq-length N` | 0 |", "| `--max-seq-len N` | 0 |", 1)
        mutated = mutated.replace("--input data/sentences.txt --output /tmp/emb.npy",
                                  "--input-file data/sentences.txt --output /tmp/emb.npy", 1)
        if mutated == text:
            print("docs self-test: nothing to mutate (docs/cli.md changed?)")
            return 1
        cli.write_text(mutated, encoding="utf-8")
        print("docs self-test: after renaming --max-seq-length and --input in docs/cli.md:")
        if run_options(copy, mtst) == 0:
            print("docs self-test: the options check did not notice")
            return 1
    print("docs self-test: the options check failed on the renamed options, as it must")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["options", "blocks", "self-test"])
    parser.add_argument("--mtst", required=True, help="the mtst binary under test")
    parser.add_argument("--only", nargs="+", default=[], help="these files (relative to the root)")
    args = parser.parse_args()
    ONLY.extend(args.only)
    mtst = str(Path(args.mtst).resolve())
    mode = {"options": run_options, "blocks": run_blocks, "self-test": run_self_test}[args.mode]
    sys.exit(mode(ROOT, mtst))


if __name__ == "__main__":
    main()
