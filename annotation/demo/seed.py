"""The demo project: real Stable Diffusion prompts with generated stand-in images.

Built through import_batch, the same path a user's upload takes, so the demo can
never show a state that a real import could not produce.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFilter

from annotation.demo.crowd import GENERATOR_QUALITY, judge_as_crowd
from annotation.demo.model import DemoModel, ensure_demo_model, set_demo_policy
from annotation.intake import ImportSummary, import_batch, process_batch
from annotation.models import Project, ProjectRole, Role, Split, User
from annotation.projects import add_member, add_user
from annotation.quality import request_refresh

DEMO_PROMPTS = Path(settings.BASE_DIR) / "data" / "sd_prompts_1k.jsonl"
DEMO_PROJECTS = {"demo-pairwise": 2, "demo-ranking": 4}
# The demo users' roles in every demo project (the admin created them: manager).
DEMO_MEMBERS = {
    "demo-annotator": ProjectRole.ANNOTATOR,
    "demo-researcher": ProjectRole.RESEARCHER,
}
DEMO_USERS = {
    "demo-admin": (Role.ADMIN, "hpd-admin-2026"),
    "demo-annotator": (Role.ANNOTATOR, "hpd-annotate-2026"),
    "demo-researcher": (Role.RESEARCHER, "hpd-research-2026"),
}
GENERATORS = list(GENERATOR_QUALITY)
# How each stand-in generator spoils its pictures: Gaussian blur radius, noise share (%).
_BLUR = {"standin-soft": 1.0, "standin-blurry": 2.5}
_NOISE = {"standin-plain": 12, "standin-noisy": 60}
# Judgments wanted per task: train tasks leave room for the demo annotator after the
# simulated crowd; every crowd member ranks each held-out test group, as in HPD v2's test set.
DEMO_TRAIN_JUDGMENTS = 3
DEMO_TEST_JUDGMENTS = 4


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str


def read_demo_prompts(path: Path = DEMO_PROMPTS) -> list[str]:
    """Non-empty prompts from the JSONL file, in file order, without repeats."""
    prompts: list[str] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["prompt"].strip()
            if text and text not in seen and len(text) <= settings.IMPORT_MAX_PROMPT_CHARS:
                seen.add(text)
                prompts.append(text)
    return prompts


def draw_demo_image(prompt: str, generator: str, size: int = 256) -> Image.Image:
    """A deterministic abstract picture for (prompt, generator): the same input, same bytes."""
    seed = int.from_bytes(hashlib.sha256(f"{generator}|{prompt}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / (size - 1)
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randrange(3, 9)):
        x0, y0 = rng.randrange(size), rng.randrange(size)
        radius = rng.randrange(size // 16, size // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0 - radius, y0 - radius, x0 + radius, y0 + radius], fill=colour)
    if generator in _BLUR:
        image = image.filter(ImageFilter.GaussianBlur(_BLUR[generator] * rng.uniform(0.7, 1.3)))
    if generator in _NOISE:
        noise = Image.frombytes("L", (size, size), rng.randbytes(size * size)).convert("RGB")
        image = Image.blend(image, noise, min(0.6, _NOISE[generator] / 100))
    return image


def demo_generators(prompt: str, count: int) -> list[str]:
    """The `count` stand-in generators of a prompt's group: a deterministic draw, so that
    across groups every generator meets every other one."""
    seed = int.from_bytes(hashlib.sha256(f"generators|{prompt}".encode()).digest()[:8], "big")
    return random.Random(seed).sample(GENERATORS, count)


def write_demo_batch(folder: Path, prompts: list[str], images_per_group: int) -> Path:
    """Write manifest.jsonl and PNGs for `prompts` into `folder`; return the folder."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    with open(folder / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for number, prompt in enumerate(prompts):
            images = []
            for generator in demo_generators(prompt, images_per_group):
                relative = f"img/{number:05d}-{generator}.png"
                draw_demo_image(prompt, generator).save(folder / relative, "PNG")
                images.append({"path": relative, "generator": generator})
            line = {"prompt": prompt, "source": "open-prompts", "images": images}
            manifest.write(json.dumps(line) + "\n")
    return folder


def seed_demo(
    groups_per_project: int = 60, *, with_judgments: bool = True
) -> tuple[list[ImportSummary], list[DemoLogin], DemoModel]:
    """Create the demo users, projects and model if they are missing. Idempotent.

    Each project gets a train batch of `groups_per_project` prompt groups and a held-out
    test batch of a sixth as many (other prompts). With `with_judgments`, simulated
    annotators (demo_crowd.py) then judge about half the train slots and every test
    group, through the same services as the annotation page, so the dashboards and
    exports show real figures; the rest is left for the demo annotator. The demo
    projects get a CPU-sized training recipe and, when the platform has nothing to train
    from, the demo model (annotation/demo/model.py: random start weights) is activated,
    so a training cycle started from a demo project's training page runs end to end.
    """
    logins = []
    for username, (role, password) in DEMO_USERS.items():
        if not User.objects.filter(username=username).exists():
            add_user(username, role, password)
        logins.append(DemoLogin(username=username, role=role, password=password))
    prompts = read_demo_prompts()
    test_groups = max(1, groups_per_project // 6)
    summaries = []
    for offset, (slug, images_per_group) in enumerate(DEMO_PROJECTS.items()):
        if Project.objects.filter(slug=slug).exists():
            continue
        train_prompts = prompts[offset * groups_per_project : (offset + 1) * groups_per_project]
        test_end = len(prompts) - offset * test_groups
        test_prompts = prompts[test_end - test_groups : test_end]
        admin = User.objects.get(username="demo-admin")
        # The test batch first: the crowd is served started tasks first, then the oldest,
        # so every member ranks each held-out group before the train tasks.
        for split, chosen, wanted in (
            (Split.TEST, test_prompts, DEMO_TEST_JUDGMENTS),
            (Split.TRAIN, train_prompts, DEMO_TRAIN_JUDGMENTS),
        ):
            with tempfile.TemporaryDirectory(prefix="hpd-demo-") as folder:
                batch = write_demo_batch(Path(folder) / f"{slug}-{split}", chosen, images_per_group)
                summary = import_batch(
                    batch, slug, split=split, judgments_per_task=wanted, uploaded_by=admin
                )
            summaries.append(summary)
            # Cleaning normally follows on a worker; done here so the crowd can start.
            process_batch(summary.batch)
        project = Project.objects.get(slug=slug)
        set_demo_policy(project)
        for username, project_role in DEMO_MEMBERS.items():
            add_member(project, User.objects.get(username=username), project_role, by=admin)
        if with_judgments:
            slots = groups_per_project * DEMO_TRAIN_JUDGMENTS + test_groups * DEMO_TEST_JUDGMENTS
            judge_as_crowd(project, tasks_per_member=slots // 8 + test_groups)
            # The leaderboard and the agreement report are computed by a worker, so the
            # pages have figures once one runs (annotation/quality/stored.py).
            request_refresh(project)
    model = ensure_demo_model(User.objects.get(username="demo-admin"))
    return summaries, logins, model
