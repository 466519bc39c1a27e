"""Dataset export: immutable snapshots in the HPD v2 layout plus the full record.

One module per job: params (what to export), query (what is read, streamed),
hpd_files (train.json, test.json, images), rich_files (annotations.jsonl,
pairs.parquet), datasheet (DATASHEET.md), manifest (manifest.json and checksums),
writer (one pass writing them all), snapshots (the ExportSnapshot life cycle).
"""

from annotation.export.hpd_files import ExportFailed
from annotation.export.params import ExportParams, ExportParamsError
from annotation.export.snapshots import create_export, export_snapshot, snapshot_files
from annotation.export.writer import write_export

__all__ = [
    "ExportFailed",
    "ExportParams",
    "ExportParamsError",
    "create_export",
    "export_snapshot",
    "snapshot_files",
    "write_export",
]
