"""Agreement between annotators, and each annotator's quality, for a project.

`compute_agreement(project, *, split=None, batch=None, guideline_version=None) -> dict`
returns a JSON-serialisable report (README "Agreement and annotator quality" lists every
key). What it counts: the project's judgments that count (annotation/quality/counted.py),
gold ones included; repeat items only feed self-consistency. Judgments are read with SQL
(agreement_data.py, annotator_stats.py) and the statistics computed with vectorised
numpy (agreement_stats.py). The report is stored (annotation/quality/stored.py: one row
for the unfiltered report, one for the last filter asked for) and recomputed only when
the project's judgments (or the excluded annotators) changed; pages serve the stored one
(`served_agreement`) and the refresh runs in the background.

Statistics (a "ranking" is one judgment: its images best to worst):
- pairwise_agreement: over every image pair of a task judged by two or more annotators,
  the share of annotator pairs that order it the same way (pooled over pairs).
- krippendorff_alpha: ordinal alpha (`krippendorff` package); units are (task, image),
  values the rank positions the annotators gave.
- kendall_w_mean: Kendall's W of each task with two or more annotators, averaged; the
  distribution is in kendall_w_distribution.
- human_ceiling: the HPS v2 "single human" accuracy: each annotator's ranking scored with
  the inversion score (1 - discordant pairs / all pairs; pairs the others tie on never
  count as discordant) against the mean rank of the OTHER annotators of the task;
  averaged over the task's annotators, then over tasks.

`intervals` holds a bootstrap 95% interval of each of these four, resampling the tasks
judged by two or more annotators (agreement_stats.agreement_intervals); per-annotator
figures carry Wilson 95% intervals and their sample sizes, and the quality flags are
raised on the interval, not the point estimate (annotator_stats.quality_flags).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from annotation.models import Project, ProjectAnnotator, StoredReport
from annotation.quality.agreement_data import read_judgments
from annotation.quality.agreement_stats import (
    agreement_intervals,
    breakdown,
    core_statistics,
    distribution,
    inversion_score,
    over_time,
    rank_groups,
    summary,
)
from annotation.quality.annotator_stats import (
    annotator_rows,
    display_name,
    quality_flags,
    thresholds_for,
)
from annotation.quality.stored import (
    ServedReport,
    judgments_version,
    serve_report,
    store_report,
    stored_report,
)

__all__ = ["compute_agreement", "inversion_score", "quality_flags", "served_agreement"]


def compute_agreement(
    project: Project | str,
    *,
    split: str | None = None,
    batch: int | None = None,
    guideline_version: str | None = None,
    use_cache: bool = True,
    store: bool = True,
) -> dict[str, Any]:
    """The agreement report of `project` (a Project or its slug), optionally filtered.

    Reads only (the cache row aside); takes no lock. With `use_cache`, a report computed
    from the same judgments is returned as it was stored; with `store`, a fresh report is
    stored for later calls (pass False inside a read-only transaction).
    """
    if isinstance(project, str):
        project = Project.objects.get(slug=project)
    filtered = bool(split or batch or guideline_version)
    kind = StoredReport.Kind.AGREEMENT_FILTERED if filtered else StoredReport.Kind.AGREEMENT
    version = agreement_version(project, split=split, batch=batch, guideline=guideline_version)
    if use_cache:
        cached = stored_report(project, kind)
        # A report stored before it carried intervals is computed again.
        if cached is not None and cached.data_version == version and "intervals" in cached.report:
            return _with_current_flags(project, cached.report)
    started = time.perf_counter()
    report = _compute(project, split=split, batch=batch, guideline_version=guideline_version)
    seconds = time.perf_counter() - started
    report["seconds"] = round(seconds, 3)
    if store:
        store_report(project, kind, version, report, seconds)
    return report


def agreement_version(
    project: Project,
    *,
    split: str | None = None,
    batch: int | None = None,
    guideline: str | None = None,
) -> str:
    """The filter and the data an agreement report is computed from (annotation/quality/
    stored.py): every judgment of the project counts here, calibration ones too, since
    the report's counts show what was left out."""
    data = judgments_version(project)
    return f"split={split or ''}|batch={batch or ''}|guideline={guideline or ''}|{data}"


def served_agreement(project: Project) -> ServedReport:
    """The project's stored (unfiltered) report as of its time, its quality flags
    following today's thresholds; queues a refresh when the judgments changed since."""
    served = serve_report(project, StoredReport.Kind.AGREEMENT, agreement_version(project))
    if served.report is None or "intervals" not in served.report:
        return ServedReport(report=None, as_of=None, updating=True)
    _with_current_flags(project, served.report)
    return served


def _with_current_flags(project: Project, report: dict[str, Any]) -> dict[str, Any]:
    """Quality flags follow the thresholds as they are now, not when the report was cached."""
    thresholds = thresholds_for(project)
    for entry in report["annotators"]:
        entry["quality_flags"] = quality_flags(entry, thresholds)
    return report


def _compute(
    project: Project, *, split: str | None, batch: int | None, guideline_version: str | None
) -> dict[str, Any]:
    judgments = read_judgments(project, split, batch, guideline_version)
    groups = rank_groups(judgments)
    everything = np.ones(len(judgments), dtype=bool)
    core = core_statistics(judgments, groups, everything)
    report: dict[str, Any] = {
        "project": project.slug,
        "filters": {"split": split, "batch": batch, "guideline_version": guideline_version},
        "computed_at": datetime.now(UTC).isoformat(),
        **summary(judgments, core, everything),
        "intervals": agreement_intervals(core),
        "kendall_w_distribution": distribution(core.kendall_w),
        "human_ceiling_definition": "mean over tasks of the mean leave-one-out inversion "
        "score of each annotator's ranking against the other annotators' mean rank",
    }
    thresholds = thresholds_for(project)
    report["annotators"] = annotator_rows(project, judgments, core, thresholds)
    report["excluded_annotators"] = sorted(
        display_name(standing.annotator)
        for standing in ProjectAnnotator.objects.filter(
            project=project, is_excluded=True
        ).select_related("annotator")
    )
    report["by_batch"] = breakdown(judgments, groups, judgments.batch)
    report["by_split"] = breakdown(judgments, groups, judgments.split)
    report["by_guideline_version"] = breakdown(judgments, groups, judgments.guideline)
    report["over_time"] = over_time(judgments, core)
    return report
