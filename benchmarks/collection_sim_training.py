"""The serving orders (uncertain-first against fifo) measured through the project's own
training cycle: held-out accuracy of the model it trains after the same number of
judgments, on the demo's tiny CLIP on the CPU.

Run with the services up:

    .venv/bin/python scripts/stack.py exec -- python benchmarks/collection_sim_training.py [--quick]

The world (one per --worlds, each on other prompts): the demo's stand-in images
(annotation/demo/seed.py: real Stable Diffusion prompts, a pair of pictures from two of
six stand-in generators, the weaker ones blurred or noisy), whose true quality is the
generator's (annotation/demo/crowd.py GENERATOR_QUALITY). A careful person prefers the
better image of a pair with strength sigmoid(2 x quality gap) (collection_sim.SHARPNESS);
the crowd is benchmarks/collection_sim.py's (17 careful, 2 careless, 1 adversarial).

Per serving order, a fresh project in a throwaway database gets, through import_batch as
an upload would: a held-out test batch of pairs, judged once each by their truth (the
better image first; it is what the cycle's evaluation reads; a prompt held for a safety
review is never judged, so not held out), then the pool (a train
batch, one judgment per task). The demo model (annotation/demo/model.py: random start
weights) is the active version; the pool is scored with it (scoring.services), which sets
the serving margins the uncertain-first order reads (annotation/judging/serving.py). The
crowd judges the same budget in each project through HTTP (gunicorn, the client of
benchmarks/collection_sim.py). Then the platform's cycle runs on each project
(training.services.cycle: export in HPD v2 format, fine-tune from the active version with
the demo recipe, evaluate, register); the active version is restored after each so both
start from the same weights. Each trained version scores the held-out images; reported:
its held-out pairwise accuracy (the share of held-out pairs it orders as the truth does)
with a 95% bootstrap interval over held-out pairs, the start model's beside it, and the
paired difference uncertain-first - fifo; with several worlds also the mean over worlds.
Results go to benchmarks/results/collection_sim_training.json.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.collection_sim import (
    SERVING_ARMS,
    SHARPNESS,
    World,
    bootstrap,
    build_world,
    interval,
    run_arm,
    seed_annotators,
    serve_gunicorn,
    share,
    show,
)
from benchmarks.common import setup_django, throwaway_database, write_result

QUICK = {"pool": 160, "budget": 60, "held_out": 100, "worlds": 1, "steps": 40, "rounds": 200}
FULL = {"pool": 200, "budget": 100, "held_out": 120, "worlds": 3, "steps": 80, "rounds": 1000}


# --- pure: the truth of a pair, the figures


def pair_truth(generators: dict[int, str], quality: dict[str, float]) -> tuple[int, int, float]:
    """A pair's (better image, worse image, strength) from its images' generators and
    the generators' true quality: a careful person prefers the better one with strength
    sigmoid(SHARPNESS x quality gap)."""
    if len(generators) != 2:
        raise ValueError(f"a pair has two images, not {len(generators)}")
    better, worse = sorted(generators, key=lambda image: -quality[generators[image]])
    gap = quality[generators[better]] - quality[generators[worse]]
    return better, worse, 1 / (1 + math.exp(-SHARPNESS * gap))


def orders_as_truth(scores: dict[int, float], pairs: Sequence[tuple[int, int]]) -> list[bool]:
    """Per (better, worse) pair, whether the scores put the better image strictly first."""
    return [scores[better] > scores[worse] for better, worse in pairs]


def accuracy_figures(
    correct: dict[str, list[bool]], first: str, second: str, rounds: int
) -> dict[str, Any]:
    """Each model's held-out accuracy and the paired difference `second` - `first`, with
    95% bootstrap intervals over the held-out pairs (the same resamples for every model)."""
    pairs = len(next(iter(correct.values())))
    figures: dict[str, Any] = {
        name: interval(bootstrap(pairs, partial(share, flags), rounds))
        for name, flags in correct.items()
    }
    figures["difference"] = interval(
        bootstrap(pairs, lambda s: share(correct[second], s) - share(correct[first], s), rounds)
    )
    return figures


# --- the platform side


def import_pairs(folder: Path, slug: str, split: str, order: str, admin: Any) -> int:
    """Import a batch of pairs into project `slug` (one judgment per task) and clean it,
    as a worker would; the project stays open to every annotator. Returns the batch id."""
    from annotation.intake import import_batch, process_batch
    from annotation.models import Project

    summary = import_batch(
        folder,
        slug,
        split=split,
        judgments_per_task=1,
        max_judgments_per_task=1,
        serving_order=order,
        uploaded_by=admin,
    )
    process_batch(summary.batch)
    Project.objects.filter(slug=slug).update(open_to_annotators=True)
    batch: int = summary.batch
    return batch


def batch_truth(batch: int, quality: dict[str, float]) -> dict[int, tuple[int, int, float, str]]:
    """{task id: (better image, worse image, strength, prompt)} of a batch's tasks."""
    from annotation.models import TaskImage

    generators: dict[int, dict[int, str]] = {}
    prompts: dict[int, str] = {}
    for task_id, image_id, generator, prompt in TaskImage.objects.filter(
        task__batch_id=batch
    ).values_list("task_id", "image_id", "image__generator", "task__prompt__raw_text"):
        generators.setdefault(task_id, {})[image_id] = generator
        prompts[task_id] = prompt
    return {
        task: (*pair_truth(images, quality), prompts[task]) for task, images in generators.items()
    }


def judge_by_truth(
    project: Any, user: Any, truth: dict[int, tuple[int, int, float, str]]
) -> list[tuple[int, int]]:
    """`user` judges every task served to them with its true order (the held-out set);
    returns the (better, worse) pairs judged, in the order of their prompts, so that the
    held-out pairs of two projects built from the same batch line up."""
    import uuid

    from annotation.judging import next_assignment, submit_judgment

    judged: list[tuple[str, int, int]] = []
    while (lease := next_assignment(project, user)) is not None:
        better, worse, _strength, prompt = truth[lease.assignment.task_id]
        submit_judgment(
            lease.assignment.id,
            user,
            ranking=[better, worse],
            duration_ms=1500,
            flags=[],
            idempotency_key=str(uuid.uuid4()),
        )
        judged.append((prompt, better, worse))
    return [(better, worse) for _prompt, better, worse in sorted(judged)]


def held_out_scores(version_name: str, batch: int) -> dict[int, float]:
    """The version's scores of the batch's images (computed and stored by the platform)."""
    from scoring.models import ImageScore
    from scoring.services import score_images_for_batch

    score_images_for_batch(batch, version_name=version_name)
    return dict(
        ImageScore.objects.filter(
            model_version__name=version_name, image__prompt__batch_id=batch
        ).values_list("image_id", "score")
    )


def train_project(slug: str, steps: int, start_version: int) -> Any:
    """The platform's training cycle on the project's judgments, run here and now; the
    active version is restored after it, so the next project's cycle starts alike."""
    from annotation.demo.model import set_demo_policy
    from annotation.models import Project
    from scoring.services import activate
    from training.models import TrainingRun
    from training.services.cycle import run_cycle, start_cycle
    from training.services.policy import policy_for

    project = Project.objects.get(slug=slug)
    set_demo_policy(project)  # the demo recipe (a CPU's scale), with `steps` steps
    policy = policy_for(project)
    policy.steps = steps
    policy.save(update_fields=["steps"])
    start = start_cycle(project, trigger=TrainingRun.Trigger.COMMAND, force=True, enqueue=False)
    assert start.run is not None, start.reason
    run = run_cycle(start.run.pk)
    activate(start_version)
    if run.status != TrainingRun.Status.SUCCEEDED or run.candidate is None:
        raise RuntimeError(f"the training cycle of {slug} ended {run.status}: {run.error}")
    return run


def run_world(
    number: int,
    sizes: dict[str, int],
    seed: int,
    scratch: Path,
    admin: Any,
    tokens: list[str],
    crowd: list[Any],
) -> dict[str, Any]:
    """One world: both projects seeded and judged, trained, and scored on held-out pairs."""
    from annotation.demo.crowd import GENERATOR_QUALITY
    from annotation.demo.seed import read_demo_prompts, write_demo_batch
    from annotation.models import Project, ProjectRole, Split, User
    from annotation.projects import add_member
    from benchmarks.annotate_load import free_port, wait_for, warm_up
    from scoring.services import score_images_for_batch

    prompts = read_demo_prompts()
    pool_count, held_count = sizes["pool"], sizes["held_out"]
    offset = number * (pool_count + held_count)
    if offset + pool_count + held_count > len(prompts):
        raise SystemExit(f"the demo prompts hold {len(prompts)}: too few for these sizes")
    pool_prompts = prompts[offset : offset + pool_count]
    held_prompts = prompts[offset + pool_count : offset + pool_count + held_count]
    pool_folder = write_demo_batch(scratch / f"pool-{number}", pool_prompts, 2)
    held_folder = write_demo_batch(scratch / f"held-{number}", held_prompts, 2)
    place = {prompt: i for i, prompt in enumerate(pool_prompts)}
    truth_user = User.objects.get(username="sim-truth")
    projects: dict[str, dict[str, Any]] = {}
    for order in SERVING_ARMS:
        slug = f"train-{number}-{order}"
        # The held-out pairs first, judged by their truth, before the pool exists.
        held = import_pairs(held_folder, slug, Split.TEST, order, admin)
        project = Project.objects.get(slug=slug)
        add_member(project, truth_user, ProjectRole.ANNOTATOR, by=admin)
        # Only what the truth judged is held out: a prompt the cleaning holds for a safety
        # review is out of circulation (annotation/judging/circulation.py), never judged.
        held_pairs = judge_by_truth(project, truth_user, batch_truth(held, GENERATOR_QUALITY))
        pool = import_pairs(pool_folder, slug, Split.TRAIN, order, admin)
        score_images_for_batch(pool)  # the active version: the serving margins
        pool_truth = batch_truth(pool, GENERATOR_QUALITY)
        projects[order] = {"slug": slug, "held": held, "held_pairs": held_pairs, "pool": pool_truth}
    port = free_port()
    gunicorn = serve_gunicorn(port, 2, 4)
    runs: dict[str, dict[str, Any]] = {}
    try:
        wait_for(port)
        warm_up(port, tokens)
        for order, arm in projects.items():
            tasks = {
                str(task): [better, worse, strength, place[prompt]]
                for task, (better, worse, strength, prompt) in arm["pool"].items()
            }
            plan = {
                "slug": arm["slug"],
                "seed": seed + number,
                "tasks": tasks,
                "budget": sizes["budget"],
                "annotators": [
                    {"token": token, "annotator": asdict(who)}
                    for token, who in zip(tokens, crowd, strict=True)
                ],
            }
            runs[order] = run_arm(port, plan, scratch)
            print(f"world {number} {order}: {len(runs[order]['created'])} judgments")
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(30)
    return {"projects": projects, "runs": runs}


def evaluate_world(
    world: dict[str, Any], steps: int, start_version: Any, rounds: int
) -> dict[str, Any]:
    """Train each project, score the held-out pairs with each trained version and the
    start model, and compare."""
    from annotation.models import Judgment

    correct: dict[str, list[bool]] = {}
    report: dict[str, Any] = {"arms": {}}
    first = world["projects"][SERVING_ARMS[0]]
    held_pairs = first["held_pairs"]
    if any(len(arm["held_pairs"]) != len(held_pairs) for arm in world["projects"].values()):
        raise RuntimeError("the projects hold different held-out pairs; compare nothing")
    correct["start model"] = orders_as_truth(
        held_out_scores(start_version.name, first["held"]), held_pairs
    )
    for order, arm in world["projects"].items():
        run = train_project(arm["slug"], steps, start_version.pk)
        scores = held_out_scores(run.candidate.name, arm["held"])
        correct[order] = orders_as_truth(scores, arm["held_pairs"])
        judged = Judgment.objects.filter(task__in=list(arm["pool"])).values_list(
            "task_id", flat=True
        )
        strengths = [arm["pool"][task][2] for task in judged]
        report["arms"][order] = {
            "judgments": len(strengths),
            "mean_true_strength_of_judged_tasks": round(sum(strengths) / max(1, len(strengths)), 3),
            "errors": len(world["runs"][order]["errors"]),
            "run": {
                "id": run.pk,
                "final_step": run.final_step,
                "final_loss": run.final_loss,
                "candidate_accuracy": run.candidate_accuracy,
                "active_accuracy": run.active_accuracy,
            },
        }
    report["held_out_pairs"] = len(held_pairs)
    report["accuracy"] = accuracy_figures(correct, *SERVING_ARMS, rounds)
    return report


def mean_over_worlds(worlds: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    """The mean over worlds of each figure, with a 95% bootstrap interval over worlds."""
    return {
        name: interval(
            bootstrap(
                len(worlds),
                partial(share, [world["accuracy"][name]["value"] for world in worlds]),
                rounds,
            )
        )
        for name in worlds[0]["accuracy"]
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"serving order through the training cycle: {report['sizes']['budget']} judgments of "
        f"{report['sizes']['pool']} pool pairs per project, {report['sizes']['steps']} steps of "
        f"the demo recipe; held-out pairwise accuracy [95%, bootstrap over "
        f"{report['sizes']['held_out']} held-out pairs]"
    ]
    for number, world in enumerate(report["worlds"]):
        figures = world["accuracy"]
        lines.append(f"  world {number}:")
        for name in ("start model", *SERVING_ARMS):
            arm = world["arms"].get(name)
            extra = (
                f"  ({arm['judgments']} judgments, judged tasks' strength "
                f"{arm['mean_true_strength_of_judged_tasks']:.3f}, final loss "
                f"{arm['run']['final_loss']:.3f})"
                if arm
                else ""
            )
            lines.append(f"    {name:<24} {show(figures[name], True)}{extra}")
        lines.append(f"    uncertain-first - fifo   {show(figures['difference'], True)}")
    if len(report["worlds"]) > 1:
        lines.append(f"  mean over {len(report['worlds'])} worlds [95%, bootstrap over worlds]:")
        for name, figure in report["mean"].items():
            lines.append(f"    {name:<24} {show(figure, True)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK}")
    parser.add_argument("--seed", type=int, default=0)
    for name, value in FULL.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None, help=f"{value}")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    for name in sizes:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    if sizes["budget"] > sizes["pool"]:
        raise SystemExit("--budget cannot exceed --pool: each task takes one judgment")

    with tempfile.TemporaryDirectory(prefix="hpd-sim-training-") as folder:
        scratch = Path(folder)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DJANGO_DEBUG": "false",
                "MEDIA_ROOT": str(scratch / "media"),
                "EXPORT_ROOT": str(scratch / "exports"),
                "TRAINING_ROOT": str(scratch / "training"),
                "TRAINING_BASE_CHECKPOINT": "",
                "TRAINING_BASE_PRETRAINED": "",
                "TRAINING_GPUS": "1",
                "TRAINING_DEVICE": "cpu",
            }
        )
        setup_django()
        crowd = build_world(1, seed=args.seed).annotators
        with throwaway_database():
            from annotation.demo import ensure_demo_model
            from annotation.models import Role, User
            from annotation.projects import add_user
            from scoring.queries import active_model_version

            add_user("sim-admin", Role.ADMIN)
            add_user("sim-truth", Role.ANNOTATOR)
            admin = User.objects.get(username="sim-admin")
            ensure_demo_model(admin)
            start_version = active_model_version()
            assert start_version is not None
            tokens = seed_annotators(World([], [], crowd))
            worlds = []
            for number in range(sizes["worlds"]):
                world = run_world(number, sizes, args.seed, scratch, admin, tokens, crowd)
                worlds.append(evaluate_world(world, sizes["steps"], start_version, sizes["rounds"]))
        report: dict[str, Any] = {"sizes": sizes, "seed": args.seed, "worlds": worlds}
        if len(worlds) > 1:
            report["mean"] = mean_over_worlds(worlds, sizes["rounds"])
        report["table"] = format_table(report)
    path = write_result("collection_sim_training", report)
    print(report["table"])
    print(f"written to {path}")
    errors = sum(arm["errors"] for world in worlds for arm in world["arms"].values())
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
