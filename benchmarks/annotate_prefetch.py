"""Key press to the next task's images drawn, on the annotation page in headless Chromium.

Run with the services up:

    .venv/bin/python scripts/stack.py exec -- python benchmarks/annotate_prefetch.py

A throwaway database gets a pairwise project of `--tasks` tasks whose images are real
512 x 512 PNG files; Django's live server serves the page; Playwright drives Debian's
Chromium (`/usr/bin/chromium`, or `CHROMIUM`). For each task the page is left until it
has leased the next task ahead and decoded its images (as an annotator looking at the
images would leave it), then a real key press judges it. Measured per task: from the
keydown event's timestamp to the end of the first animation frame whose DOM holds the
next task with every image decoded (a `requestAnimationFrame` and a message after it,
which runs once that frame has been painted). Reported: median and p99, the share of key
presses that found the next task ready, and that every judgment was stored exactly once.
Results go to benchmarks/results/annotate_prefetch.json.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import setup_django, throwaway_database, write_result

TARGET_MEDIAN_MS = 30
TARGET_P99_MS = 100

# Installed before the page's own script: timestamps each keydown and reports when the
# next task, every image decoded, has been drawn.
PROBE = """
(() => {
  const ids = () => [...document.querySelectorAll('#images .image-choice')]
    .map(b => b.dataset.id).join();
  window.__drawn = [];
  document.addEventListener('keydown', (event) => {
    if (event.key !== '1') return;
    const t0 = event.timeStamp, before = ids();
    const channel = new MessageChannel();
    const check = () => {
      const imgs = [...document.querySelectorAll('#images img')];
      const ready = ids() !== before && imgs.length
        && imgs.every(i => i.complete && i.naturalWidth);
      if (!ready) { requestAnimationFrame(check); return; }
      channel.port1.onmessage = () => window.__drawn.push(performance.now() - t0);
      channel.port2.postMessage(0);
    };
    requestAnimationFrame(check);
  }, true);
})();
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def png(seed: int, size: int = 512) -> bytes:
    """A 512 x 512 PNG with noise, so that decoding it costs what a real image costs."""
    from PIL import Image

    digest = hashlib.sha256(str(seed).encode()).digest()
    image = Image.frombytes(
        "RGB", (size, size), (digest * (3 * size * size // 32 + 1))[: 3 * size * size]
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def seed(tasks: int, media_root: Path) -> tuple[str, Any]:
    from annotation.models import Batch, Image, Project, Prompt, Role, Task, TaskImage
    from annotation.projects.accounts import add_user

    project = Project.objects.create(
        slug="prefetch",
        name="Prefetch",
        task_type="pairwise",
        images_per_task=2,
        judgments_per_task=1,
        guideline_version="hpd-v2-1",
    )
    batch = Batch.objects.create(
        project=project, status=Batch.Status.READY, judgments_per_task=1, source_name="benchmark"
    )
    for n in range(tasks):
        prompt = Prompt.objects.create(
            project=project, batch=batch, raw_text=f"a red fox number {n}", line_number=n + 1
        )
        task = Task.objects.create(project=project, batch=batch, prompt=prompt, judgments_wanted=1)
        for k in range(2):
            data = png(2 * n + k)
            sha = hashlib.sha256(data).hexdigest()
            file = f"images/{sha[:2]}/{sha[2:4]}/{sha}.png"
            (media_root / file).parent.mkdir(parents=True, exist_ok=True)
            (media_root / file).write_bytes(data)
            image = Image.objects.create(
                project=project,
                prompt=prompt,
                sha256=sha,
                file=file,
                original_name=f"{2 * n + k}.png",
                format="PNG",
                width=512,
                height=512,
                byte_size=len(data),
            )
            TaskImage.objects.create(task=task, image=image, position=k)
    user = add_user("bench", Role.ANNOTATOR, password="correct-horse-battery-9").user
    return project.slug, user


def measure(base_url: str, slug: str, user: Any, tasks: int) -> dict[str, Any]:
    from django.conf import settings
    from django.test import Client
    from playwright.sync_api import expect, sync_playwright

    from core.progress_bar import TqdmProgress

    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}]
        )
        page = context.new_page()
        page.add_init_script(PROBE)
        page.goto(f"/annotate/{slug}/")
        page.keyboard.press("Enter")  # the guidelines, on the first visit
        root = page.locator("#annotate")
        ready = 0
        bar = TqdmProgress("key presses")
        bar.start("key press to next images", tasks - 1)
        for n in range(tasks - 1):
            # The page leases the next task ahead and decodes its images meanwhile.
            try:
                expect(root).to_have_attribute("data-ahead", re.compile(r"\d"))
                ready += 1
            except AssertionError:
                pass
            page.keyboard.press("1")
            page.wait_for_function("n => window.__drawn.length > n", arg=n)
            bar.advance()
        bar.close()
        drawn = page.evaluate("() => window.__drawn")
        page.keyboard.press("1")
        expect(page.locator("#done")).to_be_visible()
        browser.close()
    return {"drawn_ms": drawn, "next_ready": ready}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks", type=int, default=51, help="tasks to judge (50 key presses timed)"
    )
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.db.models import Count
    from pytest_django.live_server_helper import LiveServer

    with tempfile.TemporaryDirectory() as media, throwaway_database():
        settings.MEDIA_ROOT = Path(media)
        slug, user = seed(args.tasks, Path(media))
        server = LiveServer("localhost")
        try:
            figures = measure(server.url, slug, user, args.tasks)
        finally:
            server.stop()
        from annotation.models import Judgment, Task

        drawn = figures["drawn_ms"]
        once = not Task.objects.annotate(n=Count("judgments")).exclude(n=1).exists()
        result = {
            "tasks": args.tasks,
            "key_presses_timed": len(drawn),
            "next_ready_share": figures["next_ready"] / max(1, len(drawn)),
            "median_ms": round(statistics.median(drawn), 1),
            "p99_ms": round(percentile(drawn, 0.99), 1),
            "max_ms": round(max(drawn), 1),
            "drawn_ms": [round(ms, 1) for ms in drawn],
            "target_median_ms": TARGET_MEDIAN_MS,
            "target_p99_ms": TARGET_P99_MS,
            "judgments": Judgment.objects.count(),
            "every_task_judged_once": once,
        }
    path = write_result("annotate_prefetch", result)
    print(result)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
