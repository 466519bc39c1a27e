"""Give the installed hpsv2 package the tokenizer vocabulary its wheel leaves out.

hpsv2 1.2.0's bundled open_clip builds a tokenizer at import time from
`bpe_simple_vocab_16e6.txt.gz` next to its tokenizer module, but the wheel on PyPI does
not contain that file. It is CLIP's byte-pair vocabulary, the same file open_clip_torch
ships, so it is copied from there. Idempotent; run by `make venv` after the install.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

VOCAB = "bpe_simple_vocab_16e6.txt.gz"


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        sys.exit(f"error: package {name!r} is not installed; run `make venv`")
    return Path(spec.origin).parent


def main() -> None:
    source = package_dir("open_clip") / VOCAB
    # find_spec("hpsv2") would not import it, but its submodules would run __init__ (network).
    target = package_dir("hpsv2") / "src" / "open_clip" / VOCAB
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return
    shutil.copyfile(source, target)
    print(f"copied {source} -> {target}")


if __name__ == "__main__":
    main()
