"""Dataset export: immutable snapshots in the HPD v2 layout plus the full record.

One module per job: params (what to export), query (what is read, streamed),
hpd_files (train.json, test.json, images), rich_files (annotations.jsonl,
pairs.parquet), datasheet (DATASHEET.md), manifest (manifest.json and checksums),
writer (one pass writing them all), snapshots (the ExportSnapshot life cycle).
"""

from annotation.export.archive import stream_tar, tar_size
from annotation.export.hpd_files import ExportFailed
from annotation.export.params import ExportParams, ExportParamsError, describe_export
from annotation.export.snapshots import (
    EXPORT_SNAPSHOT_TASK,
    create_export,
    export_snapshot,
    queued_snapshot_ids,
    snapshot_files,
)
from annotation.export.writer import write_export

__all__ = [
    "EXPORT_SNAPSHOT_TASK",
    "ExportFailed",
    "ExportParams",
    "ExportParamsError",
    "create_export",
    "describe_export",
    "export_snapshot",
    "queued_snapshot_ids",
    "snapshot_files",
    "stream_tar",
    "tar_size",
    "write_export",
]
