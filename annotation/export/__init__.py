"""Dataset export: immutable snapshots in the HPD v2 layout plus the full record.

One module per job: params (what to export), query (what is read, streamed),
hpd_files (train.json, test.json, images), rich_files (annotations.jsonl,
pairs.parquet), datasheet (DATASHEET.md), manifest (manifest.json and checksums),
writer (one pass writing them all), snapshots (the ExportSnapshot life cycle), reuse
(an identical request reuses its snapshot; the free-space check), retention (prune
removes old snapshots' files).
"""

from annotation.export.archive import stream_tar, tar_size
from annotation.export.hpd_files import ExportFailed
from annotation.export.params import ExportParams, ExportParamsError, describe_export
from annotation.export.retention import Removed, prune_snapshots
from annotation.export.reuse import ExportRefused, check_export_space, export_data_version
from annotation.export.snapshots import (
    EXPORT_SNAPSHOT_TASK,
    ExportStart,
    create_export,
    export_snapshot,
    queued_snapshot_ids,
    snapshot_files,
    start_export,
)
from annotation.export.writer import write_export

__all__ = [
    "EXPORT_SNAPSHOT_TASK",
    "ExportFailed",
    "ExportParams",
    "ExportParamsError",
    "ExportRefused",
    "ExportStart",
    "Removed",
    "check_export_space",
    "create_export",
    "describe_export",
    "export_data_version",
    "export_snapshot",
    "prune_snapshots",
    "queued_snapshot_ids",
    "snapshot_files",
    "start_export",
    "stream_tar",
    "tar_size",
    "write_export",
]
