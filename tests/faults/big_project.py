"""A judged pairwise project big enough that its export takes a while, built with COPY.

Built the way the export benchmark builds its project (benchmarks/export_scale.py), in
the database the test uses: one train batch of `prompts` tasks, two images each (tiny
distinct files under MEDIA_ROOT), one judgment and one pair row per task.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone

from annotation.intake.media import media_path_for
from annotation.models import Batch, Project, User

TABLES = {name: f"annotation_{name}" for name in
          ("prompt", "image", "task", "taskimage", "judgment", "pairjudgment")}  # fmt: skip


def _copy(cursor: Any, table: str, columns: str, rows: Iterator[str]) -> None:
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO("".join(rows)))


def build_judged_project(slug: str, prompts: int, media_root: Path) -> Project:
    """The project, committed (call it in a transactional test)."""
    project = Project.objects.create(
        slug=slug, name=slug, task_type="pairwise", images_per_task=2, judgments_per_task=1,
        guideline_version="hpd-v2-1",
    )  # fmt: skip
    annotators = User.objects.bulk_create(
        User(username=f"{slug}-annotator-{k}", role="annotator", password="!") for k in range(20)
    )
    batch = Batch.objects.create(
        project=project, status="ready", split="train", judgments_per_task=1, source_name=slug
    )
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(id), 0) FROM annotation_prompt")
        first_prompt = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(max(id), 0) FROM annotation_image")
        first_image = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(max(id), 0) FROM annotation_judgment")
        first_judgment = cursor.fetchone()[0] + 1
    prompt_ids = range(first_prompt, first_prompt + prompts)
    folders: set[Path] = set()

    def image_rows() -> Iterator[str]:
        for n, pid in enumerate(prompt_ids):
            for k in range(2):
                image_id = first_image + 2 * n + k
                data = b"%s-%d" % (slug.encode(), image_id)
                sha = hashlib.sha256(data).hexdigest()
                relative = media_path_for(sha, "png")
                target = media_root / relative
                if target.parent not in folders:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(target.parent)
                target.write_bytes(data)
                yield (
                    f"{image_id}\t{project.pk}\t{pid}\t{sha}\t{relative}\t{pid}-{k}.png\t"
                    f"png\t8\t8\t1\t{len(data)}\tgen-{k}\tf\n"
                )

    def judgment_rows() -> Iterator[str]:
        for n, pid in enumerate(prompt_ids):
            a, b = first_image + 2 * n, first_image + 2 * n + 1
            who = annotators[n % len(annotators)].pk
            yield (
                f"{first_judgment + n}\t{pid}\t{who}\t{{{a},{b}}}\t{{{b},{a}}}\t1500\t{{}}\t"
                f"hpd-v2-1\tf\t\t{now}\t{{}}\t{{}}\t\n"
            )

    with connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(
            raw, TABLES["prompt"], "id, project_id, batch_id, raw_text, cleaned_text, "
            "removed_spans, style, source, is_unsafe, is_held, line_number",
            (f"{pid}\t{project.pk}\t{batch.pk}\ta fox number {pid}\ta fox number {pid}\t[]\t"
             f"paintings\tdiffusiondb\tf\tf\t{pid}\n" for pid in prompt_ids),
        )  # fmt: skip
        _copy(
            raw, TABLES["image"], "id, project_id, prompt_id, sha256, file, original_name, "
            "format, width, height, exif_orientation, byte_size, generator, is_withdrawn",
            image_rows(),
        )  # fmt: skip
        _copy(
            raw, TABLES["task"], "id, project_id, batch_id, prompt_id, judgments_wanted, "
            "judgments_done, is_gold, is_active, created_at",
            (f"{pid}\t{project.pk}\t{batch.pk}\t{pid}\t1\t1\tf\tt\t{now}\n" for pid in prompt_ids),
        )  # fmt: skip
        _copy(
            raw, TABLES["taskimage"], "task_id, image_id, position",
            (f"{pid}\t{first_image + 2 * n + k}\t{k}\n"
             for n, pid in enumerate(prompt_ids) for k in range(2)),
        )  # fmt: skip
        _copy(
            raw, TABLES["judgment"], "id, task_id, annotator_id, ranking, display_order, "
            "duration_ms, flags, guideline_version, is_calibration, idempotency_key, created_at, "
            "levels, reasons, note",
            judgment_rows(),
        )  # fmt: skip
        _copy(
            raw, TABLES["pairjudgment"], "project_id, judgment_id, task_id, annotator_id, "
            "winner_id, loser_id, is_tie",
            (f"{project.pk}\t{first_judgment + n}\t{pid}\t{annotators[n % 20].pk}\t"
             f"{first_image + 2 * n}\t{first_image + 2 * n + 1}\tf\n"
             for n, pid in enumerate(prompt_ids)),
        )  # fmt: skip
        for name in ("prompt", "image", "task", "taskimage", "judgment"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{TABLES[name]}', 'id'), "
                f"(SELECT max(id) FROM {TABLES[name]}))"
            )
        cursor.execute("ANALYZE")
    return project
