"""Simulated annotators for the demo projects, judging through the real services.

They lease tasks with `next_assignment` and submit with `submit_judgment`, exactly as the
annotation page does, so the quality dashboard, the leaderboard, the agreement report and
the exports have something to show on a fresh install. Their preference is a hidden
per-generator quality plus each annotator's own noise: one of them is careless, which the
quality dashboard should flag.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass

from annotation.judging import next_assignment, submit_judgment
from annotation.models import Image, Project, ProjectRole, Role, User
from annotation.projects import add_member, add_user

# The planted quality of each named stand-in generator (higher is better, on the scale
# of a Bradley-Terry strength): the crowd prefers them in this order, and the pictures
# of the weaker ones are blurred or noisy (annotation/demo/seed.py), so the leaderboard
# has a ranking worth reading. Best first.
GENERATOR_QUALITY = {
    "standin-crisp": 1.2,
    "standin-vivid": 0.7,
    "standin-plain": 0.3,
    "standin-soft": -0.1,
    "standin-blurry": -0.6,
    "standin-noisy": -1.7,
}


@dataclass(frozen=True)
class CrowdMember:
    username: str
    noise: float  # standard deviation of the noise added to each image's quality


DEMO_CROWD = [
    CrowdMember("demo-crowd-1", 0.2),
    CrowdMember("demo-crowd-2", 0.3),
    CrowdMember("demo-crowd-3", 0.4),
    CrowdMember("demo-crowd-4", 50.0),  # careless: ranks at random
]


def crowd_account(member: CrowdMember) -> User:
    """The member's annotator account, created without a usable password (nobody logs in)."""
    existing = User.objects.filter(username=member.username).first()
    if existing is not None:
        return existing
    add_user(member.username, Role.ANNOTATOR)
    user = User.objects.get(username=member.username)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


def _image_quality(image: Image, prompt: str) -> float:
    """The generator's quality plus a fixed per-image offset (the same for every member)."""
    digest = hashlib.sha256(f"{prompt}|{image.sha256}".encode()).digest()
    offset = (int.from_bytes(digest[:4], "big") / 2**32 - 0.5) * 0.8
    return GENERATOR_QUALITY.get(image.generator, 0.0) + offset


def _judge_one(project: Project, member: CrowdMember, annotator: User, rng: random.Random) -> bool:
    """The member leases and judges one task; False when nothing is left for them."""
    lease = next_assignment(project, annotator)
    if lease is None:
        return False
    ids = [image.id for image in lease.images]
    images = {image.id: image for image in Image.objects.filter(id__in=ids)}
    noisy = {
        image_id: _image_quality(images[image_id], lease.prompt) + rng.gauss(0.0, member.noise)
        for image_id in ids
    }
    submit_judgment(
        lease.assignment.id,
        annotator,
        ranking=sorted(ids, key=lambda image_id: noisy[image_id], reverse=True),
        duration_ms=rng.randint(2500, 12000),
        flags=[],
        idempotency_key=str(uuid.UUID(int=rng.getrandbits(128))),
    )
    return True


def judge_as_crowd(project: Project, *, tasks_per_member: int, seed: int = 0) -> int:
    """The crowd members take turns, one task each, until each judged `tasks_per_member`
    tasks of `project` or ran out; returns the number of judgments stored. Taking turns
    makes them share tasks (started tasks are served first), so agreement is measurable.
    Deterministic for a given seed and database state."""
    members = [(member, crowd_account(member)) for member in DEMO_CROWD]
    for _member, annotator in members:  # the crowd judges as members of the project
        add_member(project, annotator, ProjectRole.ANNOTATOR)
    rngs = [random.Random(f"{seed}|{project.slug}|{number}") for number in range(len(members))]
    active = set(range(len(members)))
    stored = 0
    for _ in range(tasks_per_member):
        for number, (member, annotator) in enumerate(members):
            if number in active:
                if _judge_one(project, member, annotator, rngs[number]):
                    stored += 1
                else:
                    active.discard(number)
    return stored
