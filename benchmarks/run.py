"""Every benchmark in one run, and one table: measured value, target, pass/miss, anchor.

Run with the services up, like the other benchmarks:

    .venv/bin/python scripts/stack.py exec -- python benchmarks/run.py [--quick]

Each benchmark runs as its own subprocess (same interpreter and environment, so the same
PostgreSQL and Redis) with its own arguments; its output goes to
benchmarks/results/logs/<step>.log and a progress line per step goes to stdout. Its JSON
result (benchmarks/results/<name>.json) is removed before the step, so a stale result is
never reported as a fresh one. A step that fails (non-zero exit, timeout, no result)
gets a FAILED row with the reason; the rest still run, and the exit code is 1.

Full mode is HPD v2 size (export and agreement over about 800,000 pair rows) and takes
10-15 minutes on a 2-core machine; --quick is a 1/20 scale version (under 3 minutes).
export_scale and agreement_scale build their synthetic project with COPY in a fresh
throwaway database on every run (nothing is kept between runs).
The table and the machine description are written to benchmarks/results/run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS, ROOT, machine
from benchmarks.table import FAILED, SPECS, build_rows, format_table

LOGS = RESULTS / "logs"


@dataclass(frozen=True)
class Step:
    name: str
    script: str
    result: str  # benchmarks/results/<result>.json
    full: tuple[str, ...]
    quick: tuple[str, ...]

    def command(self, quick: bool) -> list[str]:
        script = str(ROOT / "benchmarks" / self.script)
        return [sys.executable, script, *(self.quick if quick else self.full)]


STEPS: tuple[Step, ...] = (
    Step(
        "import",
        "import_throughput.py",
        "import_throughput",
        (),
        ("--images", "2000", "--repeats", "1"),
    ),
    Step(
        "annotate (as fast as possible)",
        "annotate_load.py",
        "annotate_load",
        ("--seconds", "20"),
        ("--seconds", "8", "--tasks", "1500"),
    ),
    Step(
        "annotate (150/s offered)",
        "annotate_load.py",
        "annotate_load_rate150",
        ("--seconds", "20", "--rate", "150"),
        ("--seconds", "8", "--tasks", "1500", "--rate", "150"),
    ),
    Step(
        "export",
        "export_scale.py",
        "export_scale",
        ("--scale", "1", "--repeats", "3"),
        ("--scale", "0.05", "--repeats", "1"),
    ),
    Step(
        "agreement",
        "agreement_scale.py",
        "agreement_scale",
        ("--repeats", "3"),
        ("--train-tasks", "5468", "--test-tasks", "20", "--repeats", "1"),
    ),
    Step("cleaning", "prompt_cleaning.py", "prompt_cleaning", (), ("--repeats", "3")),
    Step(
        "CPU scoring",
        "scoring_cpu.py",
        "scoring_cpu",
        (),
        ("--images", "32", "--official-images", "4", "--repeats", "1"),
    ),
)


def machine_description() -> dict[str, Any]:
    """Python, cores, OS, CPU model, memory and load average, for run.json."""
    description: dict[str, Any] = {**machine(), "load_average": list(os.getloadavg())}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                description["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                description["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        description["cpu_model"] = platform.processor() or "unknown"
    return description


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:200] if lines else "no output"


def run_step(step: Step, quick: bool, timeout: float) -> tuple[dict[str, Any] | None, str, float]:
    """Run one benchmark; return (its result, the failure reason or "", seconds)."""
    result_path = RESULTS / f"{step.result}.json"
    result_path.unlink(missing_ok=True)
    log = LOGS / f"{step.result}.log"
    command = step.command(quick)
    started = time.perf_counter()
    with log.open("w") as out:
        out.write(" ".join(command) + "\n")
        out.flush()
        # Its own session, so a timeout stops its children too (gunicorn, export workers).
        child = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_group(child)
            return None, f"timed out after {timeout:.0f} s (log: {log})", timeout
    seconds = time.perf_counter() - started
    if code != 0:
        return None, f"exit {code}: {last_line(log)} (log: {log})", seconds
    if not result_path.exists():
        return None, f"wrote no {result_path.name} (log: {log})", seconds
    try:
        return json.loads(result_path.read_text()), "", seconds
    except ValueError as error:
        return None, f"{result_path.name} is not JSON: {error}", seconds


def stop_group(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, SIGKILL it if still there after 10 s."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            return
        try:
            child.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1/20 scale, under 3 minutes")
    parser.add_argument(
        "--only", nargs="+", metavar="RESULT", help="run only these steps (result names)"
    )
    parser.add_argument(
        "--step-timeout", type=float, default=0, help="seconds per step (default 300 / 1800)"
    )
    args = parser.parse_args()
    known = [step.result for step in STEPS]
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        parser.error(f"unknown step {', '.join(unknown)}; choose from {', '.join(known)}")
    timeout = args.step_timeout or (300 if args.quick else 1800)
    steps = [step for step in STEPS if not args.only or step.result in args.only]
    LOGS.mkdir(parents=True, exist_ok=True)
    mode = "quick" if args.quick else "full"
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    machine_before = machine_description()
    results: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    steps_run: list[dict[str, Any]] = []
    begun = time.perf_counter()
    for number, step in enumerate(steps, 1):
        command = step.command(args.quick)
        shown = " ".join([step.script, *command[2:]])
        elapsed = time.perf_counter() - begun
        print(f"[{number}/{len(steps)} {elapsed:6.0f} s] {step.name}: {shown} ...", flush=True)
        result, failure, seconds = run_step(step, args.quick, timeout)
        if result is None:
            failures[step.result] = failure
            print(f"    FAILED after {seconds:.0f} s: {failure}", flush=True)
        else:
            results[step.result] = result
            print(f"    done in {seconds:.0f} s", flush=True)
        steps_run.append(
            {
                "step": step.name,
                "command": shown,
                "seconds": round(seconds, 1),
                "failure": failure,
            }
        )
    chosen = {step.result for step in steps}
    rows = build_rows(results, failures, tuple(spec for spec in SPECS if spec.result in chosen))
    table = format_table(rows)
    total = time.perf_counter() - begun
    print(f"\n{mode} run, {total:.0f} s in all:\n{table}")
    report = {
        "benchmark": "run",
        "mode": mode,
        "started": started_at,
        "seconds": round(total, 1),
        "machine": {**machine_before, "load_average_after": list(os.getloadavg())},
        "steps": steps_run,
        "rows": [row.as_dict() for row in rows],
        "table": table.splitlines(),
    }
    path = RESULTS / "run.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written to {path}")
    return 1 if failures or any(row.status == FAILED for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
