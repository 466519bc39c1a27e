"""Full export of a project of HPD v2 size (target: under 30 s and under 1 GB peak RSS).

Run with the platform's services up, e.g.:
    .venv/bin/python scripts/stack.py exec -- python benchmarks/export_scale.py [--scale 0.05]
Builds a synthetic project with COPY in a throwaway database: about 107,000 prompts,
430,000 images (tiny distinct files), 111,000 judgments and 784,000 pair rows at
--scale 1 (train: 4 images per prompt, one annotator; test: 400 prompts of 9 images
ranked by 10 annotators, as HPD v2). Each export runs in a fresh child process whose
peak RSS is measured. Writes benchmarks/results/export_scale.json.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import os
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import median, setup_django, throwaway_database, write_result

GENERATORS = ["CogView2", "DALLE-2", "SD-1.4", "SD-2.0", "GLIDE", "LAFITE", "VQGAN", "VQD", "FD"]
STYLES = ["paintings", "anime and cartoon", "real photo", "concept-art", "others"]
COPY_ROWS = 50_000


def _copy(cursor: Any, table: str, columns: str, rows: Iterator[str]) -> int:
    """COPY rows (tab-separated lines) into a table, COPY_ROWS at a time."""
    count = 0
    buffer: list[str] = []

    def flush() -> None:
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO("".join(buffer)))
        buffer.clear()

    for row in rows:
        buffer.append(row)
        count += 1
        if len(buffer) >= COPY_ROWS:
            flush()
    if buffer:
        flush()
    return count


def build_project(scale: float, media_root: Path) -> tuple[int, dict[str, int]]:
    """The synthetic project; returns its id and row counts."""
    from django.db import connection
    from django.utils import timezone

    from annotation.intake.media import media_path_for
    from annotation.models import Batch, Project, User

    rng = random.Random(5)
    now = timezone.now().isoformat()
    train_prompts = round(106_600 * scale)
    test_prompts = max(2, round(400 * scale))
    project = Project.objects.create(
        slug="hpd-scale", name="HPD scale", task_type="ranking", images_per_task=9,
        judgments_per_task=1, guideline_version="hpd-v2-1",
    )  # fmt: skip
    users = User.objects.bulk_create(
        User(username=f"bench-annotator-{k}", role="annotator", password="!") for k in range(100)
    )
    user_ids = [user.pk for user in users]
    batches = {
        split: Batch.objects.create(
            project=project,
            status="ready",
            split=split,
            judgments_per_task=1,
            source_name=f"synthetic-{split}",
        )
        for split in ("train", "test")
    }
    # (prompt id, split, images, annotators)
    groups = [(n + 1, "train", 4, 1) for n in range(train_prompts)] + [
        (train_prompts + n + 1, "test", 9, 10) for n in range(test_prompts)
    ]
    t = {name: f"annotation_{name}" for name in
         ("prompt", "image", "task", "taskimage", "judgment", "pairjudgment")}  # fmt: skip
    counts: dict[str, int] = {}
    folders: set[Path] = set()

    def prompts() -> Iterator[str]:
        for pid, split, _, _ in groups:
            text = f"a synthetic prompt number {pid} with a fox, a lighthouse and a tree"
            yield (
                f"{pid}\t{project.pk}\t{batches[split].pk}\t{text}\t{text}\t[]\t"
                f"{STYLES[pid % 5]}\tdiffusiondb\tf\tf\t{pid}\n"
            )

    image_of: dict[int, list[int]] = {}

    def images() -> Iterator[str]:
        image_id = 0
        for pid, _, size, _ in groups:
            ids = []
            for k in range(size):
                image_id += 1
                data = b"hpd-bench-%d" % image_id
                sha = hashlib.sha256(data).hexdigest()
                relative = media_path_for(sha, "png")
                target = media_root / relative
                if target.parent not in folders:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(target.parent)
                target.write_bytes(data)
                ids.append(image_id)
                yield (
                    f"{image_id}\t{project.pk}\t{pid}\t{sha}\t{relative}\t{pid:07d}-{k}.png\t"
                    f"png\t8\t8\t1\t{len(data)}\t{GENERATORS[k % 9]}\tf\n"
                )
            image_of[pid] = ids

    def tasks() -> Iterator[str]:
        for pid, split, _, annotators in groups:
            yield (
                f"{pid}\t{project.pk}\t{batches[split].pk}\t{pid}\t{annotators}\t{annotators}\t"
                f"f\tt\t{now}\n"
            )

    def task_images() -> Iterator[str]:
        row = 0
        for pid, _, _, _ in groups:
            for position, image_id in enumerate(image_of[pid]):
                row += 1
                yield f"{row}\t{pid}\t{image_id}\t{position}\n"

    pair_rows: list[str] = []

    def judgments() -> Iterator[str]:
        judgment_id = 0
        for pid, _, _, annotators in groups:
            for annotator in rng.sample(user_ids, annotators):
                judgment_id += 1
                ranking = list(image_of[pid])
                rng.shuffle(ranking)
                array = "{" + ",".join(map(str, ranking)) + "}"
                yield (
                    f"{judgment_id}\t{pid}\t{annotator}\t{array}\t{array}\t{rng.randint(800, 9000)}"
                    f"\t{{}}\thpd-v2-1\tf\t\t{now}\t{{}}\t{{}}\t\n"
                )
                for a in range(len(ranking)):
                    for b in range(a + 1, len(ranking)):
                        pair_rows.append(
                            f"{project.pk}\t{judgment_id}\t{pid}\t{annotator}\t{ranking[a]}\t"
                            f"{ranking[b]}\tf\n"
                        )

    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg2 cursor, for COPY
        counts["prompts"] = _copy(
            raw, t["prompt"], "id, project_id, batch_id, raw_text, cleaned_text, removed_spans, "
            "style, source, is_unsafe, is_held, line_number", prompts(),
        )  # fmt: skip
        counts["images"] = _copy(
            raw, t["image"], "id, project_id, prompt_id, sha256, file, original_name, format, "
            "width, height, exif_orientation, byte_size, generator, is_withdrawn", images(),
        )  # fmt: skip
        counts["tasks"] = _copy(
            raw, t["task"], "id, project_id, batch_id, prompt_id, judgments_wanted, "
            "judgments_done, is_gold, is_active, created_at", tasks(),
        )  # fmt: skip
        _copy(raw, t["taskimage"], "id, task_id, image_id, position", task_images())
        counts["judgments"] = _copy(
            raw, t["judgment"], "id, task_id, annotator_id, ranking, display_order, duration_ms, "
            "flags, guideline_version, is_calibration, idempotency_key, created_at, levels, "
            "reasons, note", judgments(),
        )  # fmt: skip
        counts["pair_rows"] = _copy(
            raw, t["pairjudgment"], "project_id, judgment_id, task_id, annotator_id, winner_id, "
            "loser_id, is_tie", iter(pair_rows),
        )  # fmt: skip
        for name in ("prompt", "image", "task", "taskimage", "judgment"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{t[name]}', 'id'), "
                f"(SELECT max(id) FROM {t[name]}))"
            )
        cursor.execute("ANALYZE")
    return project.pk, counts


def run_child(db_name: str, media_root: str, snapshot_id: int, results: Any) -> None:
    """One export in a fresh interpreter: its wall time and its own peak RSS."""
    setup_django()
    from django.conf import settings
    from django.db import connection

    from annotation.export import export_snapshot

    connection.settings_dict["NAME"] = db_name
    settings.MEDIA_ROOT = Path(media_root)
    started = time.perf_counter()
    snapshot = export_snapshot(snapshot_id)
    seconds = time.perf_counter() - started
    assert snapshot is not None and snapshot.status == "done", snapshot and snapshot.error
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put(
        {
            "seconds": seconds,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,  # this process, all its threads
            "peak_rss_mib": usage.ru_maxrss / 1024,
            "load_average": os.getloadavg()[0],
            "counts": snapshot.counts,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = HPD v2 size.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    setup_django()
    from django.conf import settings
    from django.db import connection

    from annotation.export import create_export
    from annotation.models import Project

    with tempfile.TemporaryDirectory(prefix="hpd-export-bench-") as scratch, throwaway_database():
        work = Path(scratch)
        settings.MEDIA_ROOT = work / "media"
        started = time.perf_counter()
        print(f"building a synthetic project at scale {args.scale} with COPY ...", flush=True)
        project_id, counts = build_project(args.scale, work / "media")
        print(f"  built in {time.perf_counter() - started:.1f} s: {counts}", flush=True)
        project = Project.objects.get(pk=project_id)
        context = multiprocessing.get_context("spawn")
        runs: list[dict[str, Any]] = []
        for repeat in range(args.repeats):
            out = work / f"export-{repeat}"
            snapshot = create_export(project, {}, out=out, enqueue=False)
            queue = context.Queue()
            child = context.Process(
                target=run_child,
                args=(connection.settings_dict["NAME"], str(work / "media"), snapshot.pk, queue),
            )
            child.start()
            result = queue.get(timeout=600)
            child.join()
            runs.append(result)
            print(
                f"  export {repeat + 1}: {result['seconds']:6.2f} s "
                f"({result['cpu_seconds']:.1f} s CPU, load {result['load_average']:.1f}), "
                f"peak RSS {result['peak_rss_mib']:7.1f} MiB",
                flush=True,
            )
            shutil.rmtree(out)
    splits = runs[0]["counts"]["splits"]
    result = {
        "scale": args.scale,
        "rows": counts,
        "exported": splits,
        "repeats": args.repeats,
        "target_seconds": 30,
        "target_peak_rss_mib": 1024,
        "median_seconds": round(median([run["seconds"] for run in runs]), 2),
        "median_peak_rss_mib": round(median([run["peak_rss_mib"] for run in runs]), 1),
        "median_cpu_seconds": round(median([run["cpu_seconds"] for run in runs]), 2),
        "all_seconds": [round(run["seconds"], 2) for run in runs],
        "load_averages": [round(run["load_average"], 1) for run in runs],
        "all_peak_rss_mib": [round(run["peak_rss_mib"], 1) for run in runs],
    }
    path = write_result("export_scale", result)
    print(
        f"median {result['median_seconds']} s, peak RSS {result['median_peak_rss_mib']} MiB "
        f"(targets 30 s, 1024 MiB); written to {path}"
    )


if __name__ == "__main__":
    main()
