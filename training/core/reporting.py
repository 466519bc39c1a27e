"""What a run tells its user: metrics.jsonl, TensorBoard when installed, a progress bar.

Only the main process (rank 0) reports. On resume, metrics.jsonl keeps the lines up to
the checkpoint's step and drops those a killed run wrote after it, so every step appears
once.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from tqdm import tqdm


class RunReport:
    def __init__(
        self,
        metrics_path: Path,
        *,
        enabled: bool,
        progress: bool,
        total_steps: int,
        start_step: int,
        tensorboard_dir: Path,
    ) -> None:
        self.metrics_path = metrics_path
        self.enabled = enabled
        self.writer: Any = None
        self.bar: tqdm[Any] | None = None
        if not enabled:
            return
        metrics_path.parent.mkdir(parents=True, exist_ok=True)
        self._keep_lines_up_to(start_step)
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(tensorboard_dir))
        self.bar = tqdm(
            total=total_steps,
            initial=start_step,
            desc="training",
            unit="step",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        )

    def _keep_lines_up_to(self, step: int) -> None:
        if not self.metrics_path.exists():
            return
        kept = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if isinstance(record, dict) and record.get("step", step + 1) <= step:
                kept.append(line)
        self.metrics_path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")

    def note(self, values: dict[str, Any]) -> None:
        """Append an event line (no loss) to metrics.jsonl unless the same line is there:
        a run killed before its next checkpoint notes the same event once."""
        if not self.enabled:
            return
        line = json.dumps(values)
        if (
            self.metrics_path.exists()
            and line in self.metrics_path.read_text(encoding="utf-8").splitlines()
        ):
            return
        with self.metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def record(self, values: dict[str, Any]) -> None:
        """Append one line to metrics.jsonl (and TensorBoard), advance the bar."""
        if not self.enabled:
            return
        with self.metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(values) + "\n")
        if self.writer is not None:
            for key, value in values.items():
                if key != "step" and isinstance(value, int | float):
                    self.writer.add_scalar(f"train/{key}", value, values["step"])
        if self.bar is not None:
            postfix = {"loss": f"{values['loss']:.4f}", "pairs/s": f"{values['pairs_per_s']:.1f}"}
            if "test_accuracy" in values:
                postfix["test_acc"] = f"{values['test_accuracy']:.3f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> RunReport:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
