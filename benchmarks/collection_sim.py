"""A simulated crowd with known truth, judging through the real server and database.

Run with the services up:

    .venv/bin/python scripts/stack.py exec -- python benchmarks/collection_sim.py [--quick]

The world: pairwise tasks, each with a true preference strength s (the share of careful
people who prefer its better image; half the tasks easy, s in [0.90, 0.98], half hard,
s in [0.60, 0.80]), and annotators with a noise level: careful ones (noise e in
[0, 0.15]: they prefer the better image with probability 0.5 + (s - 0.5)(1 - 2e)), a few
careless ones (always the image shown first: a coin toss, since display order is
shuffled) and one adversarial one (always the worse image).

Each arm is a fresh project with the same tasks and annotators in a throwaway database:
fixed k = 1, 3 and 5 judgments per task, and adaptive redundancy (minimum 2, maximum 5,
consensus threshold 0.85: annotation/judging/stopping.py). gunicorn serves it; a client
process runs one thread per annotator doing GET next/ -> POST submit/ (as
benchmarks/annotate_load.py does) until nothing is left. Reported per arm, with 95%
bootstrap intervals over tasks: judgments spent, the share of tasks whose consensus
(majority; a tie is no consensus) is the true better image, the agreement figures of the
project's own agreement report, and for adaptive the share of judgments saved against
fixed k = max and against the cheapest fixed k whose consensus accuracy is within one
point of adaptive's. Target: at least 30% fewer judgments than k = max, accuracy within
one point. Results go to benchmarks/results/collection_sim.json.

The serving orders (uncertain-first against fifo) are compared on a second world whose
images carry features with a true quality w . x (a careful person's preference strength
is sigmoid(2 |quality gap|)). A small linear scorer (pairwise logistic loss, numpy, CPU)
is fitted to a few seed pairs (20: weak; 50: fair); its scores are stored as the active
version's and the platform refreshes the task margins from them
(annotation/judging/serving.py). Two projects over the same tasks, fifo and
uncertain-first, one judgment per task, each collect the same budget (a quarter of the
tasks) from the same crowd; the scorer refitted on the seed pairs plus each project's
judgments is scored on 1,000 held-out pairs. Reported per world and as the mean over
worlds (95% bootstrap over worlds). The small scorer isolates what the serving order
changes, in seconds; benchmarks/collection_sim_training.py makes the same comparison
through the project's own training cycle (training/: export, fine-tuning a tiny CLIP on
the CPU, evaluation) on image files with a known, learnable quality.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    ROOT,
    setup_django,
    submit_ranking,
    throwaway_database,
    write_result,
)

CAREFUL, CARELESS, ADVERSARIAL = "careful", "careless", "adversarial"
EASY_STRENGTH = (0.90, 0.98)
HARD_STRENGTH = (0.60, 0.80)
CAREFUL_NOISE = (0.0, 0.15)
ADAPTIVE_MINIMUM, ADAPTIVE_MAXIMUM, ADAPTIVE_THRESHOLD = 2, 5, 0.85
FIXED_KS = (1, 3, 5)
TARGET_SAVED = 0.30
EQUAL_ACCURACY = 0.01  # "the same consensus accuracy": within one point


# --- the world (pure: no Django, no server)


@dataclass(frozen=True)
class Annotator:
    kind: str
    noise: float  # careful annotators only

    def prefers_better(self, strength: float, draw: float, shown_first_is_better: bool) -> bool:
        """Whether this annotator picks the better image, given a uniform `draw` in [0, 1)."""
        if self.kind == ADVERSARIAL:
            return False
        if self.kind == CARELESS:
            return shown_first_is_better
        return draw < p_better(strength, self.noise)


@dataclass(frozen=True)
class World:
    strengths: list[float]  # per task
    easy: list[bool]  # per task
    annotators: list[Annotator]


def p_better(strength: float, noise: float) -> float:
    """A careful annotator's chance of preferring the better image."""
    return 0.5 + (strength - 0.5) * (1 - 2 * noise)


def build_world(
    tasks: int, careful: int = 17, careless: int = 2, adversarial: int = 1, seed: int = 0
) -> World:
    """Half the tasks easy (every other one), half hard; the annotators as described."""
    rng = random.Random(seed)
    easy = [i % 2 == 0 for i in range(tasks)]
    strengths = [rng.uniform(*(EASY_STRENGTH if e else HARD_STRENGTH)) for e in easy]
    annotators = (
        [Annotator(CAREFUL, rng.uniform(*CAREFUL_NOISE)) for _ in range(careful)]
        + [Annotator(CARELESS, 0.0) for _ in range(careless)]
        + [Annotator(ADVERSARIAL, 0.0) for _ in range(adversarial)]
    )
    return World(strengths, easy, annotators)


def consensus(votes: Sequence[bool]) -> bool | None:
    """The majority of `votes` (True: the better image), None on a tie or no vote."""
    for_better = sum(votes)
    against = len(votes) - for_better
    if for_better == against:
        return None
    return for_better > against


def bootstrap(
    tasks: int, statistic: Callable[[list[int]], float], rounds: int = 1000, seed: int = 1
) -> tuple[float, float, float]:
    """`statistic` of all task indexes, and its 95% percentile interval over `rounds`
    resamples of the tasks (with replacement)."""
    rng = random.Random(seed)
    everything = list(range(tasks))
    draws = sorted(statistic(rng.choices(everything, k=tasks)) for _ in range(rounds))
    return statistic(everything), draws[int(0.025 * rounds)], draws[int(0.975 * rounds) - 1]


@dataclass(frozen=True)
class ArmResult:
    name: str
    votes: list[list[bool]]  # per task, in submission order

    def judgments(self, tasks: Sequence[int] | None = None) -> int:
        chosen = range(len(self.votes)) if tasks is None else tasks
        return sum(len(self.votes[i]) for i in chosen)

    def judgments_per_task(self, tasks: Sequence[int]) -> float:
        return self.judgments(tasks) / max(1, len(tasks))

    def accuracy(self, tasks: Sequence[int] | None = None) -> float:
        chosen = list(range(len(self.votes))) if tasks is None else list(tasks)
        return sum(consensus(self.votes[i]) is True for i in chosen) / max(1, len(chosen))


def interval(value: tuple[float, float, float], digits: int = 3) -> dict[str, float]:
    return {
        "value": round(value[0], digits),
        "low": round(value[1], digits),
        "high": round(value[2], digits),
    }


def compare(
    arms: dict[str, ArmResult], adaptive: str, maximum: str, rounds: int = 1000
) -> dict[str, Any]:
    """Per arm: judgments per task and consensus accuracy (with intervals); for the
    adaptive arm, the share of judgments saved against `maximum` and against the cheapest
    fixed arm within EQUAL_ACCURACY of its accuracy (paired bootstrap over tasks)."""
    tasks = len(arms[adaptive].votes)
    report: dict[str, Any] = {"arms": {}}
    for name, arm in arms.items():
        report["arms"][name] = {
            "judgments": arm.judgments(),
            "judgments_per_task": interval(bootstrap(tasks, arm.judgments_per_task, rounds)),
            "consensus_accuracy": interval(bootstrap(tasks, arm.accuracy, rounds)),
            "easy_accuracy": round(arm.accuracy([i for i in range(tasks) if i % 2 == 0]), 3),
            "hard_accuracy": round(arm.accuracy([i for i in range(tasks) if i % 2 == 1]), 3),
            "ties": sum(consensus(v) is None for v in arm.votes),
        }
    ours = arms[adaptive]

    def saved_against(other: ArmResult) -> dict[str, Any]:
        return {
            "against": other.name,
            "saved": interval(
                bootstrap(
                    tasks, lambda s: 1 - ours.judgments(s) / max(1, other.judgments(s)), rounds
                )
            ),
            "accuracy_difference": interval(
                bootstrap(tasks, lambda s: ours.accuracy(s) - other.accuracy(s), rounds)
            ),
        }

    report["saved_vs_max"] = saved_against(arms[maximum])
    fixed = sorted((a for n, a in arms.items() if n != adaptive), key=lambda a: a.judgments())
    matching = [a for a in fixed if a.accuracy() >= ours.accuracy() - EQUAL_ACCURACY]
    if matching:
        report["saved_at_equal_accuracy"] = saved_against(matching[0])
    else:  # no fixed k is as accurate: against the largest, a lower bound of the saving
        report["saved_at_equal_accuracy"] = saved_against(arms[maximum]) | {
            "note": "no fixed k reached adaptive's accuracy within one point"
        }
    saved = report["saved_vs_max"]
    report["target"] = {
        "saved_at_least": TARGET_SAVED,
        "accuracy_within": EQUAL_ACCURACY,
        "met": saved["saved"]["value"] >= TARGET_SAVED
        and saved["accuracy_difference"]["value"] >= -EQUAL_ACCURACY,
    }
    return report


# --- the serving world: images with features, a linear scorer learning from the crowd

FEATURES = 8
SHARPNESS = 2.0  # a careful person's preference: sigmoid(SHARPNESS * |quality gap|)
SEED_PAIRS = (20, 50)  # a weak and a fair seed scorer
TEST_PAIRS = 1000
Vector = list[float]


@dataclass(frozen=True)
class FeatureWorld:
    """Each image is a feature vector x with a true quality w . x; task i of the pool
    pairs images 2i and 2i + 1. `seed_pairs` were judged before collection (the first
    of each the one a careful annotator preferred); `test` pairs (first truly better)
    are held out for the evaluation."""

    weights: Vector
    pool: list[Vector]
    seed_pairs: list[tuple[Vector, Vector]]
    test: list[tuple[Vector, Vector]]

    def quality(self, x: Vector) -> float:
        return sum(w * v for w, v in zip(self.weights, x, strict=True))

    def strength(self, a: Vector, b: Vector) -> float:
        return 1 / (1 + math.exp(-SHARPNESS * abs(self.quality(a) - self.quality(b))))

    def first_is_better(self) -> list[bool]:
        pool = self.pool
        return [
            self.quality(pool[2 * i]) > self.quality(pool[2 * i + 1]) for i in range(len(pool) // 2)
        ]

    def task_strengths(self) -> list[float]:
        pool = self.pool
        return [self.strength(pool[2 * i], pool[2 * i + 1]) for i in range(len(pool) // 2)]


def build_feature_world(
    tasks: int, seed: int = 0, seed_pairs: int = SEED_PAIRS[0], noise: float = 0.075
) -> FeatureWorld:
    """Gaussian features, a random unit weight vector; the seed pairs are labelled by a
    careful annotator of noise `noise`."""
    rng = random.Random(f"{seed}-features")
    raw = [rng.gauss(0, 1) for _ in range(FEATURES)]
    norm = math.sqrt(sum(v * v for v in raw))
    weights = [v / norm for v in raw]

    def vector() -> Vector:
        return [rng.gauss(0, 1) for _ in range(FEATURES)]

    world = FeatureWorld(weights, [vector() for _ in range(2 * tasks)], [], [])
    for _ in range(seed_pairs):
        a, b = vector(), vector()
        better, worse = (a, b) if world.quality(a) > world.quality(b) else (b, a)
        agrees = rng.random() < p_better(world.strength(a, b), noise)
        world.seed_pairs.append((better, worse) if agrees else (worse, better))
    for _ in range(TEST_PAIRS):
        a, b = vector(), vector()
        world.test.append((a, b) if world.quality(a) > world.quality(b) else (b, a))
    return world


def fit_linear(
    pairs: Sequence[tuple[Vector, Vector]], l2: float = 0.01, steps: int = 400
) -> Vector:
    """A linear scorer trained with the pairwise logistic loss (the first of each pair
    preferred), by gradient descent: the small model of the comparison."""
    import numpy as np

    z = np.array([np.subtract(a, b) for a, b in pairs])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (-(z * (1 - p)[:, None]).mean(axis=0) + l2 * w)
    return [float(v) for v in w]


def orders_correctly(weights: Vector, test: Sequence[tuple[Vector, Vector]]) -> list[bool]:
    """Per held-out pair, whether the scorer puts the truly better image first."""
    return [sum(w * (x - y) for w, x, y in zip(weights, a, b, strict=True)) > 0 for a, b in test]


# --- the crowd (the client process: one thread per annotator, HTTP only)


def run_client(base_url: str, plan: dict[str, Any], out: Path) -> None:
    """Every annotator asks and judges until nothing is left for them; rounds repeat
    while any judgment was stored in the last one (an adaptive task may reopen after an
    annotator was told nothing is left)."""
    import urllib3

    # The lease names images, not its task: each image belongs to one task.
    truth = {int(image): task for task in plan["tasks"].values() for image in task[:2]}
    lock = threading.Lock()
    errors: list[str] = []
    created: list[int] = []
    budget = plan.get("budget")  # the most judgments to store in all; None: no limit
    reserved = [0]

    def reserve(change: int) -> bool:
        with lock:
            if change > 0 and budget is not None and reserved[0] >= budget:
                return False
            reserved[0] += change
            return True

    def annotator(index: int, spec: dict[str, Any]) -> int:
        who = Annotator(**spec["annotator"])
        http = urllib3.PoolManager(maxsize=1, retries=False, timeout=urllib3.Timeout(total=30))
        headers = {"Authorization": f"Token {spec['token']}", "Accept": "application/json"}
        mine = 0
        # Each annotator looks at a task for a random 0-20 ms: annotators of equal speed
        # would otherwise stay in step and judge the same tasks side by side.
        pace = random.Random(f"{plan['seed']}-{plan['slug']}-{index}")
        while reserve(1):
            response = http.request(
                "GET", f"{base_url}/api/v1/projects/{plan['slug']}/next/", headers=headers
            )
            if response.status != 200:
                reserve(-1)
                if response.status != 204:
                    with lock:
                        errors.append(f"next {response.status}: {response.data[:200]!r}")
                return mine
            lease = json.loads(response.data)
            time.sleep(pace.uniform(0, 0.02))
            shown = [image["id"] for image in lease["images"]]
            better, worse, strength, task_index = truth[shown[0]]
            # The same annotator on the same task of the world decides the same in every
            # arm (common random numbers: the arms differ by who judges what, and how often).
            draw = random.Random(f"{plan['seed']}-{task_index}-{index}").random()
            picks_better = who.prefers_better(strength, draw, shown[0] == better)
            ranking = [better, worse] if picks_better else [worse, better]
            response = submit_ranking(http, base_url, headers, lease["assignment"], ranking)
            with lock:
                if response.status == 201:
                    created.append(json.loads(response.data)["judgment"])
                    mine += 1
                else:
                    errors.append(f"submit {response.status}: {response.data[:200]!r}")
                    reserved[0] -= 1
        return mine

    started = time.monotonic()
    for _ in range(10):
        stored = [0] * len(plan["annotators"])
        threads = [
            threading.Thread(target=_store_count, args=(stored, i, annotator, i, spec))
            for i, spec in enumerate(plan["annotators"])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not sum(stored):
            break
    out.write_text(
        json.dumps({"elapsed_s": time.monotonic() - started, "errors": errors, "created": created})
    )


def _store_count(into: list[int], index: int, call: Callable[..., int], *args: Any) -> None:
    into[index] = call(*args)


# --- the harness


def seed_annotators(world: World) -> list[str]:
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from annotation.models import Role, User

    password = make_password(None)
    users = User.objects.bulk_create(
        User(username=f"crowd-{n}", role=Role.ANNOTATOR, password=password)
        for n in range(len(world.annotators))
    )
    tokens = Token.objects.bulk_create(Token(user=u, key=Token.generate_key()) for u in users)
    return [token.key for token in tokens]


def seed_arm(
    slug: str,
    world: World,
    minimum: int,
    maximum: int,
    threshold: float,
    seed: int,
    *,
    first_is_better: Sequence[bool] | None = None,
    serving_order: str = "fifo",
) -> tuple[dict[int, list[Any]], list[int]]:
    """A project holding the world's tasks: {task id: [better image, worse image,
    strength, task index in the world]} and the image ids (task i holds images 2i and
    2i + 1). Which image is better is drawn, or given by `first_is_better`."""
    from annotation.models import Batch, Image, Project, Prompt, Task, TaskImage

    rng = random.Random(f"{seed}-truth")
    project = Project.objects.create(
        slug=slug,
        name=slug,
        task_type="pairwise",
        images_per_task=2,
        judgments_per_task=minimum,
        max_judgments_per_task=maximum,
        consensus_threshold=threshold,
        guideline_version="hpd-v2-1",
        calibration_tasks=0,
        open_to_annotators=True,
        serving_order=serving_order,
    )
    batch = Batch.objects.create(
        project=project,
        status=Batch.Status.READY,
        judgments_per_task=minimum,
        max_judgments_per_task=maximum,
        source_name="collection simulation",
    )
    n = len(world.strengths)
    prompts = Prompt.objects.bulk_create(
        Prompt(project=project, batch=batch, raw_text=f"{slug} scene {i}", line_number=i + 1)
        for i in range(n)
    )
    images = Image.objects.bulk_create(
        Image(
            project=project,
            prompt=prompts[i // 2],
            sha256=f"{slug}-{i}".encode().hex().ljust(64, "0")[:64],
            file=f"images/sim/{slug}-{i}.png",
            original_name=f"{i}.png",
            format="PNG",
            width=512,
            height=512,
            byte_size=1000,
        )
        for i in range(2 * n)
    )
    tasks = Task.objects.bulk_create(
        Task(project=project, batch=batch, prompt=p, judgments_wanted=minimum) for p in prompts
    )
    TaskImage.objects.bulk_create(
        TaskImage(task=task, image=images[2 * i + k], position=k)
        for i, task in enumerate(tasks)
        for k in range(2)
    )
    truth = {}
    for i, task in enumerate(tasks):
        pair = [images[2 * i].pk, images[2 * i + 1].pk]
        if first_is_better is None:
            rng.shuffle(pair)
        elif not first_is_better[i]:
            pair.reverse()
        truth[task.pk] = [*pair, world.strengths[i], i]
    return truth, [image.pk for image in images]


def collected_votes(slug: str, truth: dict[int, list[Any]]) -> list[list[bool]]:
    """Per task (upload order), whether each judgment (submission order) chose the better."""
    from annotation.models import Judgment

    votes: dict[int, list[bool]] = {task: [] for task in truth}
    for task_id, ranking in (
        Judgment.objects.filter(task__project__slug=slug)
        .order_by("pk")
        .values_list("task_id", "ranking")
    ):
        votes[task_id].append(ranking[0] == truth[task_id][0])
    return [votes[task] for task in sorted(truth)]


def judgments_by_kind(slug: str, truth: dict[int, list[Any]], world: World) -> dict[str, Any]:
    """Per kind of annotator: their judgments in the project, and the share choosing the
    better image."""
    from annotation.models import Judgment

    counts = {kind: [0, 0] for kind in (CAREFUL, CARELESS, ADVERSARIAL)}
    for username, task_id, ranking in Judgment.objects.filter(task__project__slug=slug).values_list(
        "annotator__username", "task_id", "ranking"
    ):
        kind = world.annotators[int(username.rsplit("-", 1)[1])].kind
        counts[kind][0] += 1
        counts[kind][1] += ranking[0] == truth[task_id][0]
    return {
        kind: {"judgments": n, "chose_better": round(right / max(1, n), 3)}
        for kind, (n, right) in counts.items()
    }


def agreement_figures(slug: str) -> dict[str, Any]:
    """The headline figures of the project's own agreement report."""
    from annotation.quality import compute_agreement

    report = compute_agreement(slug, use_cache=False, store=False)
    names = ("pairwise_agreement", "krippendorff_alpha", "human_ceiling")
    intervals = report.get("intervals", {})
    return {
        name: {"value": report.get(name), "interval": intervals.get(name)}
        for name in names
        if name in report
    }


def checks(slug: str, maximum: int, created: list[int], *, finished: bool) -> dict[str, int]:
    """What must be zero: lost or duplicated judgments, tasks past their maximum, a task
    judged twice by one annotator, and (with `finished`: no budget) unfinished tasks."""
    from django.db.models import Count, F

    from annotation.models import Judgment, Task

    stored = set(Judgment.objects.filter(task__project__slug=slug).values_list("pk", flat=True))
    tasks = Task.objects.filter(project__slug=slug)
    return {
        "lost": len(set(created) - stored),
        "duplicated": len(created) - len(set(created)) + len(stored - set(created)),
        "tasks_over_max": tasks.filter(judgments_done__gt=maximum).count(),
        "tasks_unfinished": tasks.filter(judgments_done__lt=F("judgments_wanted")).count()
        if finished
        else 0,
        "duplicate_task_annotator": Judgment.objects.filter(task__project__slug=slug)
        .values("task", "annotator")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
    }


def run_arm(port: int, plan: dict[str, Any], scratch: Path) -> dict[str, Any]:
    plan_file = scratch / f"{plan['slug']}.json"
    out = scratch / f"{plan['slug']}-out.json"
    plan_file.write_text(json.dumps(plan))
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--client",
            f"http://127.0.0.1:{port}",
            str(plan_file),
            str(out),
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def show(figure: dict[str, float], percent: bool = False) -> str:
    """A figure with its interval: 0.412 [0.380, 0.440], or 41.2% [38.0, 44.0]."""
    scale, unit, digits = (100, "%", 1) if percent else (1, "", 3)
    value, low, high = (f"{figure[k] * scale:.{digits}f}" for k in ("value", "low", "high"))
    return f"{value}{unit} [{low}, {high}]"


def format_table(report: dict[str, Any]) -> str:
    header = ("arm", "judgments", "per task [95%]", "consensus = truth [95%]", "easy / hard")
    widths = (14, 10, 22, 26, 13)
    lines = ["".join(f"{h:<{w}}" for h, w in zip(header, widths, strict=True)) + "agreement"]
    for name, arm in report["arms"].items():
        agreement = arm.get("agreement", {}).get("pairwise_agreement", {}).get("value")
        cells = (
            name,
            str(arm["judgments"]),
            show(arm["judgments_per_task"]),
            show(arm["consensus_accuracy"], True),
            f"{arm['easy_accuracy'] * 100:.1f} / {arm['hard_accuracy'] * 100:.1f}",
        )
        lines.append(
            "".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))
            + (f"{agreement:.3f}" if agreement is not None else "-")
        )
    for key, label in (
        ("saved_vs_max", "k = max"),
        ("saved_at_equal_accuracy", "the cheapest fixed k as accurate (within 1 point)"),
    ):
        saved = report[key]
        lines.append(
            f"adaptive against {label}, {saved['against']}: {show(saved['saved'], True)} of "
            f"judgments saved, accuracy difference {show(saved['accuracy_difference'], True)}"
            + (f" ({saved['note']})" if "note" in saved else "")
        )
    met = "met" if report["target"]["met"] else "MISSED"
    lines.append(f"target (>= 30% saved against k = max, accuracy within 1 point): {met}")
    for pairs, serving in report.get("serving", {}).items():
        mean = serving["mean"]
        lines.append(
            f"serving order after {pairs} seed pairs: {serving['budget']} judgments per project "
            f"(k = 1), {len(serving['worlds'])} worlds; held-out accuracy of the retrained "
            f"scorer, mean over worlds [95%]; the seed scorer {show(mean['seed_model'], True)}"
        )
        for order in SERVING_ARMS:
            lines.append(f"  {order:<24} {show(mean[order], True)}")
        lines.append(f"  uncertain-first - fifo   {show(mean['difference'], True)}")
        for name, world in serving["worlds"].items():
            arms = world["arms"]
            lines.append(
                f"  world {name}: seed {world['seed_model_accuracy'] * 100:.1f}%, "
                + ", ".join(
                    f"{order} {arms[order]['held_out_accuracy']['value'] * 100:.1f}% (judged "
                    f"tasks' strength {arms[order]['mean_true_strength_of_judged_tasks']:.3f})"
                    for order in SERVING_ARMS
                )
            )
    return "\n".join(lines)


SERVING_ARMS = ("fifo", "uncertain-first")


def serving_world(features: FeatureWorld, crowd: list[Annotator]) -> World:
    strengths = features.task_strengths()
    return World(strengths, [s >= EASY_STRENGTH[0] for s in strengths], crowd)


def seed_serving(
    crowd: list[Annotator], features: FeatureWorld, name: str, seed: int, version_id: int
) -> dict[str, Any]:
    """One world's serving arms (projects serve-<name>-<order>, one judgment per task)
    and its seed scorer's scores of their images, stored under the active version."""
    from scoring.models import ImageScore

    world = serving_world(features, crowd)
    arms: dict[str, dict[str, Any]] = {}
    for order in SERVING_ARMS:
        slug = f"serve-{name}-{order}"
        truth, image_ids = seed_arm(
            slug,
            world,
            1,
            1,
            ADAPTIVE_THRESHOLD,
            seed,
            first_is_better=features.first_is_better(),
            serving_order=order,
        )
        arms[order] = {"slug": slug, "truth": truth, "images": image_ids}
    scorer = fit_linear(features.seed_pairs)
    ImageScore.objects.bulk_create(
        ImageScore(
            image_id=image_id,
            model_version_id=version_id,
            score=sum(w * v for w, v in zip(scorer, features.pool[i], strict=True)),
        )
        for arm in arms.values()
        for i, image_id in enumerate(arm["images"])
    )
    return {"scorer": scorer, "arms": arms}


def active_seed_version() -> int:
    """The active version the seed scorers' scores are stored under."""
    from scoring.models import ModelVersion

    version = ModelVersion.objects.create(
        name="collection-sim-seed-scorers",
        architecture="linear",
        checkpoint_path="/none",
        checkpoint_sha256="0" * 64,
        status=ModelVersion.Status.ACTIVE,
    )
    return version.pk


def compare_serving(
    features: FeatureWorld, serving: dict[str, Any], budget: int, rounds: int
) -> dict[str, Any]:
    """Per serving arm: the scorer retrained on the seed pairs plus the arm's judgments,
    and its held-out accuracy (95% bootstrap over test pairs); their paired difference."""
    from annotation.models import Judgment

    def correct_with(weights: Vector) -> list[bool]:
        return orders_correctly(weights, features.test)

    seed_correct = correct_with(serving["scorer"])
    report: dict[str, Any] = {
        "budget": budget,
        "seed_pairs": len(features.seed_pairs),
        "test_pairs": len(features.test),
        "seed_model_accuracy": round(sum(seed_correct) / len(seed_correct), 3),
        "arms": {},
    }
    correct: dict[str, list[bool]] = {}
    strengths = features.task_strengths()
    better = features.first_is_better()
    for order, arm in serving["arms"].items():
        index = {image_id: i for i, image_id in enumerate(arm["images"])}
        judged = list(
            Judgment.objects.filter(task__project__slug=arm["slug"]).values_list(
                "ranking", flat=True
            )
        )
        pairs = [(features.pool[index[r[0]]], features.pool[index[r[1]]]) for r in judged]
        correct[order] = correct_with(fit_linear([*features.seed_pairs, *pairs]))
        chosen = [index[r[0]] for r in judged]  # the preferred image's place in the pool
        tasks = [i // 2 for i in chosen]
        report["arms"][order] = {
            "judgments": len(judged),
            "held_out_accuracy": interval(
                bootstrap(len(features.test), partial(share, correct[order]), rounds)
            ),
            "mean_true_strength_of_judged_tasks": round(
                sum(strengths[t] for t in tasks) / max(1, len(tasks)), 3
            ),
            "judgments_matching_truth": round(
                sum(better[i // 2] == (i % 2 == 0) for i in chosen) / max(1, len(chosen)), 3
            ),
        }
    first, second = SERVING_ARMS
    report["difference"] = {
        "of": f"{second} - {first}",
        "held_out_accuracy": interval(
            bootstrap(
                len(features.test),
                lambda s: share(correct[second], s) - share(correct[first], s),
                rounds,
            )
        ),
    }
    return report


def summarise_serving(
    per_world: dict[str, dict[str, Any]], budget: int, rounds: int
) -> dict[str, Any]:
    """The worlds' reports, and the mean over worlds of each arm's held-out accuracy and
    of their difference, with a 95% bootstrap interval over the worlds."""
    worlds = list(per_world.values())

    def mean_over(pick: Callable[[dict[str, Any]], float]) -> dict[str, float]:
        values = [pick(w) for w in worlds]
        return interval(bootstrap(len(values), lambda s: share(values, s), rounds))

    return {
        "budget": budget,
        "worlds": per_world,
        "mean": {
            **{order: mean_over(partial(_held_out_accuracy, order)) for order in SERVING_ARMS},
            "seed_model": mean_over(lambda w: w["seed_model_accuracy"]),
            "difference": mean_over(lambda w: w["difference"]["held_out_accuracy"]["value"]),
        },
    }


def _held_out_accuracy(order: str, world: dict[str, Any]) -> float:
    value: float = world["arms"][order]["held_out_accuracy"]["value"]
    return value


def share(values: Sequence[float], chosen: Sequence[int]) -> float:
    """The mean of `values` at the `chosen` indexes (with True as 1: a share)."""
    return sum(values[i] for i in chosen) / max(1, len(chosen))


def serve_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    from benchmarks.annotate_load import database_url

    env = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
    command = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application"]
    options = ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    options += ["--threads", str(threads), "--log-level", "warning"]
    return subprocess.Popen([*command, *options], cwd=ROOT, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="60 tasks, 200 bootstrap rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--serving-worlds", type=int, default=5, help="feature worlds for fifo vs uncertain-first"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--client", nargs=3, metavar=("URL", "PLAN", "OUT"))
    args = parser.parse_args()
    if args.client:
        url, plan_file, out = args.client
        run_client(url, json.loads(Path(plan_file).read_text()), Path(out))
        return
    tasks, rounds = (60, 200) if args.quick else (args.tasks, 1000)
    repeats = 2 if args.quick else args.serving_worlds
    budget = tasks // 4

    from benchmarks.annotate_load import free_port, wait_for, warm_up

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DJANGO_DEBUG"] = "false"
    setup_django()
    world = build_world(tasks, seed=args.seed)
    worlds = {
        f"{args.seed + r}-{pairs}": build_feature_world(tasks, seed=args.seed + r, seed_pairs=pairs)
        for pairs in SEED_PAIRS
        for r in range(repeats)
    }
    arms_spec = {f"fixed-k{k}": (k, k, ADAPTIVE_THRESHOLD) for k in FIXED_KS}
    arms_spec["adaptive-2-5"] = (ADAPTIVE_MINIMUM, ADAPTIVE_MAXIMUM, ADAPTIVE_THRESHOLD)
    with throwaway_database():
        from django.db import connection

        from annotation.judging import refresh_margins

        tokens = seed_annotators(world)
        truths = {
            slug: seed_arm(slug, world, lo, hi, threshold, args.seed)[0]
            for slug, (lo, hi, threshold) in arms_spec.items()
        }
        version_id = active_seed_version()
        servings = {
            name: seed_serving(world.annotators, features, name, args.seed, version_id)
            for name, features in worlds.items()
        }
        refresh_margins(version_id)  # the platform's own refresh, as after scoring
        plans: dict[str, tuple[dict[int, list[Any]], int | None]] = {
            slug: (truth, None) for slug, truth in truths.items()
        }
        for serving in servings.values():
            for arm in serving["arms"].values():
                plans[arm["slug"]] = (arm["truth"], budget)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        port = free_port()
        gunicorn = serve_gunicorn(port, args.workers, args.threads)
        runs: dict[str, dict[str, Any]] = {}
        try:
            wait_for(port)
            warm_up(port, tokens)
            with tempfile.TemporaryDirectory() as scratch:
                for slug, (truth, limit) in plans.items():
                    plan = {
                        "slug": slug,
                        "seed": args.seed,
                        "tasks": truth,
                        "budget": limit,
                        "annotators": [
                            {"token": token, "annotator": asdict(who)}
                            for token, who in zip(tokens, world.annotators, strict=True)
                        ],
                    }
                    runs[slug] = run_arm(port, plan, Path(scratch))
                    done = runs[slug]
                    print(f"{slug}: {len(done['created'])} judgments in {done['elapsed_s']:.1f} s")
        finally:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(30)
        arms = {
            slug: ArmResult(slug, collected_votes(slug, truth)) for slug, truth in truths.items()
        }
        report = compare(arms, "adaptive-2-5", f"fixed-k{max(FIXED_KS)}", rounds)
        for slug in arms_spec:
            report["arms"][slug]["agreement"] = agreement_figures(slug)
            report["arms"][slug]["by_kind"] = judgments_by_kind(slug, truths[slug], world)
        report["serving"] = {
            str(pairs): summarise_serving(
                {
                    name: compare_serving(worlds[name], serving, budget, rounds)
                    for name, serving in servings.items()
                    if name.endswith(f"-{pairs}")
                },
                budget,
                rounds,
            )
            for pairs in SEED_PAIRS
        }
        integrity = {
            slug: {
                **checks(slug, 5, runs[slug]["created"], finished=slug in truths),
                "errors": len(runs[slug]["errors"]),
            }
            for slug in plans
        }
        report["checks"] = integrity
        report["seconds"] = {slug: round(run["elapsed_s"], 1) for slug, run in runs.items()}
    report["world"] = {
        "tasks": tasks,
        "easy_share": 0.5,
        "easy_strength": EASY_STRENGTH,
        "hard_strength": HARD_STRENGTH,
        "annotators": {
            kind: sum(a.kind == kind for a in world.annotators)
            for kind in (CAREFUL, CARELESS, ADVERSARIAL)
        },
        "careful_noise": CAREFUL_NOISE,
        "adaptive": {
            "minimum": ADAPTIVE_MINIMUM,
            "maximum": ADAPTIVE_MAXIMUM,
            "threshold": ADAPTIVE_THRESHOLD,
        },
        "serving": {
            "features": FEATURES,
            "sharpness": SHARPNESS,
            "budget": budget,
            "worlds": repeats,
        },
        "seed": args.seed,
        "bootstrap_rounds": rounds,
    }
    report["table"] = format_table(report)
    path = write_result("collection_sim", report)
    print(report["table"])
    print(f"written to {path}")
    bad = [slug for slug, found in integrity.items() if any(found.values())]
    if bad:
        print("integrity problems in:", ", ".join(bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
