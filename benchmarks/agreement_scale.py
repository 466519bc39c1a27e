"""Agreement at HPD v2 scale: a full recompute over ~800,000 pair rows (target < 10 s).

Generates an HPD-v2-shaped project in a throwaway database with COPY: a test split of
400 prompts x 9 images ranked by 10 annotators each (144,000 pairs) and a train split
of 4-image groups with one annotator each (656,100 pairs); 800,100 PairJudgment rows
in all. Then times `compute_agreement(project, use_cache=False)` (the median of
--repeats runs) and a cached call, then what a page view costs now that pages serve the
stored reports (annotation/quality/stored.py): `served_agreement` and
`served_leaderboard` (the data-version check and the read), beside the leaderboard fit
that a page view used to run (`refresh_leaderboard` on changed data).

    .venv/bin/python scripts/stack.py exec -- python benchmarks/agreement_scale.py
Writes benchmarks/results/agreement_scale.json.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from common import median, setup_django, throwaway_database, write_result


def copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return json.dumps(value).replace("\\", "\\\\")
        return "{" + ",".join(str(v) for v in value) + "}"
    if isinstance(value, dict):
        return json.dumps(value).replace("\\", "\\\\")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def copy_rows(model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows into the model's table; fields a row leaves out get their model default."""
    from django.db import connection

    fields = [field for field in model._meta.concrete_fields]
    defaults: dict[str, Any] = {}
    for field in fields:
        if field.has_default():
            defaults[field.attname] = field.get_default()
        elif field.null:
            defaults[field.attname] = None
        elif getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            defaults[field.attname] = datetime.now(UTC)
    columns = [field.column for field in fields]
    attnames = [field.attname for field in fields]

    def lines() -> Iterator[str]:
        for row in rows:
            yield (
                "\t".join(copy_value(row[a] if a in row else defaults[a]) for a in attnames) + "\n"
            )

    buffer = io.StringIO()
    count = 0
    with connection.cursor() as cursor:
        for line in lines():
            buffer.write(line)
            count += 1
            if count % 200_000 == 0:
                buffer.seek(0)
                cursor.copy_expert(
                    f"COPY {model._meta.db_table} ({','.join(columns)}) FROM STDIN", buffer
                )
                buffer = io.StringIO()
        buffer.seek(0)
        cursor.copy_expert(f"COPY {model._meta.db_table} ({','.join(columns)}) FROM STDIN", buffer)
    return count


def generate(train_tasks: int, test_tasks: int, test_annotators: int, train_annotators: int) -> Any:
    from annotation.models import (
        Batch,
        Image,
        Judgment,
        PairJudgment,
        Project,
        Prompt,
        Task,
        TaskImage,
        User,
    )  # fmt: skip

    rng = random.Random(7)
    project = Project.objects.create(
        slug="hpd-scale", name="HPD scale", task_type="ranking", images_per_task=9,
        guideline_version="hpd-v2-1",
    )  # fmt: skip
    batches = {
        split: Batch.objects.create(
            project=project, status="ready", split=split, judgments_per_task=1, source_name=split
        )
        for split in ("train", "test")
    }
    User.objects.bulk_create(
        [User(username=f"u{i}", external_id=f"hash{i:05d}") for i in range(train_annotators)]
    )
    users = list(User.objects.order_by("pk").values_list("pk", flat=True))
    test_users = users[:test_annotators]
    start = datetime(2026, 1, 1, tzinfo=UTC)

    prompts: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    judgments: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    image_id = judgment_id = pair_id = link_id = 0
    plan: list[tuple[str, int, list[int] | None]] = [
        ("test", 9, test_users) for _ in range(test_tasks)
    ]
    plan += [("train", 4, None) for _ in range(train_tasks)]
    for task_id, (split, size, raters) in enumerate(plan, start=1):
        batch = batches[split]
        prompts.append(dict(id=task_id, project_id=project.pk, batch_id=batch.pk,
                            raw_text=f"prompt {task_id}", cleaned_text=f"prompt {task_id}",
                            line_number=task_id))  # fmt: skip
        tasks.append(dict(id=task_id, project_id=project.pk, batch_id=batch.pk, prompt_id=task_id,
                          judgments_wanted=len(raters or [0])))  # fmt: skip
        ids = []
        for position in range(size):
            image_id += 1
            link_id += 1
            ids.append(image_id)
            images.append(dict(id=image_id, project_id=project.pk, prompt_id=task_id,
                               sha256=f"{image_id:064x}", file=f"images/{image_id}.png",
                               original_name=f"{image_id}.png", format="PNG", width=512,
                               height=512, byte_size=1000, generator=f"g{position}"))  # fmt: skip
            links.append(dict(id=link_id, task_id=task_id, image_id=image_id, position=position))
        quality = [rng.random() for _ in ids]
        for annotator in raters or [rng.choice(users)]:
            judgment_id += 1
            noisy = sorted(ids, key=lambda i: -(quality[ids.index(i)] + rng.gauss(0, 0.3)))
            shown = ids[:]
            rng.shuffle(shown)
            judgments.append(dict(id=judgment_id, task_id=task_id, annotator_id=annotator,
                                  ranking=noisy, display_order=shown,
                                  duration_ms=rng.randint(1500, 20000),
                                  guideline_version="hpd-v2-1",
                                  created_at=start + timedelta(minutes=judgment_id)))  # fmt: skip
            for a, winner in enumerate(noisy):
                for loser in noisy[a + 1 :]:
                    pair_id += 1
                    pairs.append(dict(id=pair_id, project_id=project.pk, judgment_id=judgment_id,
                                      task_id=task_id, annotator_id=annotator, winner_id=winner,
                                      loser_id=loser))  # fmt: skip
    for model, rows in ((Prompt, prompts), (Task, tasks), (Image, images), (TaskImage, links),
                        (Judgment, judgments), (PairJudgment, pairs)):  # fmt: skip
        copy_rows(model, rows)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project, len(pairs), len(judgments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-tasks", type=int, default=109_350)
    parser.add_argument("--test-tasks", type=int, default=400)
    parser.add_argument("--test-annotators", type=int, default=10)
    parser.add_argument("--annotators", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    with throwaway_database():
        from annotation.leaderboard import refresh_leaderboard, served_leaderboard
        from annotation.quality import served_agreement
        from annotation.quality.agreement import compute_agreement

        started = time.perf_counter()
        project, pair_rows, judgment_rows = generate(
            args.train_tasks, args.test_tasks, args.test_annotators, args.annotators
        )
        generated = time.perf_counter() - started
        print(f"generated {pair_rows} pair rows, {judgment_rows} judgments in {generated:.1f} s")
        seconds = []
        report: dict[str, Any] = {}
        for _ in range(args.repeats):
            started = time.perf_counter()
            report = compute_agreement(project, use_cache=False)
            seconds.append(time.perf_counter() - started)
            print(f"full recompute: {seconds[-1]:.2f} s")
        started = time.perf_counter()
        compute_agreement(project)
        cached = time.perf_counter() - started
        started = time.perf_counter()
        refresh_leaderboard(project)
        leaderboard_fit = time.perf_counter() - started
        page_view: dict[str, float] = {}
        for name, serve in (("agreement", served_agreement), ("leaderboard", served_leaderboard)):
            views = []
            for _ in range(max(3, args.repeats)):
                started = time.perf_counter()
                served = serve(project)
                views.append(time.perf_counter() - started)
                assert served.report is not None and not served.updating
            page_view[name] = median(views)
        print(f"leaderboard fit: {leaderboard_fit:.2f} s; page view (served): {page_view}")
        result = {
            "pair_rows": pair_rows,
            "judgments": judgment_rows,
            "full_recompute_seconds_median": median(seconds),
            "full_recompute_seconds": seconds,
            "cached_seconds": cached,
            "leaderboard_fit_seconds": leaderboard_fit,
            "page_view_seconds_median": page_view,
            "target_seconds": 10,
            "report_excerpt": {
                key: report[key]
                for key in (
                    "pairwise_agreement",
                    "krippendorff_alpha",
                    "kendall_w_mean",
                    "human_ceiling",
                    "left_share",
                    "multi_annotator_tasks",
                )
            },
        }
    path = write_result("agreement_scale", result)
    print(json.dumps({k: v for k, v in result.items() if k != "full_recompute_seconds"}, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
