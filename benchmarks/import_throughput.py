"""Batch import throughput: validate and ingest N small images (target >= 1,000 images/s).

Run with the platform's services up, e.g.:
    .venv/bin/python scripts/stack.py exec -- python benchmarks/import_throughput.py
Creates its own throwaway database and media root; prints a table and writes
benchmarks/results/import_throughput.json.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import time
import zipfile
from pathlib import Path

from common import median, setup_django, throwaway_database, write_result


def make_batch(folder: Path, images: int, per_group: int, size: int) -> Path:
    """`images` distinct small PNGs of `size`x`size` noise, in groups of `per_group`."""
    from PIL import Image

    rng = random.Random(7)
    (folder / "img").mkdir(parents=True)
    lines = []
    for group in range(images // per_group):
        entries = []
        for k in range(per_group):
            relative = f"img/{group:06d}-{k}.png"
            pixels = bytes(rng.getrandbits(8) for _ in range(size * size * 3))
            buffer = io.BytesIO()
            Image.frombytes("RGB", (size, size), pixels).save(buffer, "PNG")
            (folder / relative).write_bytes(buffer.getvalue())
            entries.append({"path": relative, "generator": f"gen-{k}"})
        lines.append(json.dumps({"prompt": f"benchmark prompt {group}", "images": entries}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def zip_batch(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--per-group", type=int, default=2)
    parser.add_argument("--size", type=int, default=32, help="Image side in pixels.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    setup_django()
    from django.conf import settings

    from annotation.intake.importing import import_batch

    with tempfile.TemporaryDirectory(prefix="hpd-bench-") as scratch, throwaway_database():
        work = Path(scratch)
        print(f"generating {args.images} {args.size}x{args.size} PNGs ...", flush=True)
        folder = make_batch(work / "batch", args.images, args.per_group, args.size)
        archive = zip_batch(folder, work / "batch.zip")
        rates: dict[str, list[float]] = {"folder": [], "zip": []}
        for repeat in range(args.repeats):
            for kind, path in (("folder", folder), ("zip", archive)):
                settings.MEDIA_ROOT = work / f"media-{kind}-{repeat}"
                started = time.perf_counter()
                summary = import_batch(path, f"bench-{kind}-{repeat}")
                seconds = time.perf_counter() - started
                assert summary.images == args.images
                rates[kind].append(args.images / seconds)
                print(
                    f"  {kind:6} run {repeat + 1}: {seconds:6.2f} s  "
                    f"{args.images / seconds:8.0f} images/s",
                    flush=True,
                )
    result = {
        "images": args.images,
        "image_side": args.size,
        "repeats": args.repeats,
        "target_images_per_s": 1000,
        "median_images_per_s": {kind: round(median(values)) for kind, values in rates.items()},
        "all_images_per_s": {kind: [round(v) for v in values] for kind, values in rates.items()},
    }
    path = write_result("import_throughput", result)
    print(
        f"median images/s: folder {result['median_images_per_s']['folder']}, "
        f"zip {result['median_images_per_s']['zip']} (target 1000); written to {path}"
    )


if __name__ == "__main__":
    main()
