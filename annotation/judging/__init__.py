"""Judging: handing tasks to annotators and storing what they decide.

assignment (next_assignment: the slot rule and its locks; expiring leases), submission
(submit_judgment and skip_assignment: stored exactly once, with derived pair rows),
calibration (a new annotator's gold round), stopping (the stopping rule of adaptive
redundancy; redundancy: changing a project's settings of it), progress (an annotator's own figures),
collection (how a project's or batch's collection is going: the progress dashboard),
image_flags (broken/unsafe flags and withdrawal), circulation (which tasks are offered:
the rule every caller shares).
Other code imports the names below, not the modules.
"""

from annotation.judging.assignment import (
    AnnotatorExcluded,
    CalibrationFailed,
    Lease,
    NotAMember,
    expire_leases,
    next_assignment,
)
from annotation.judging.calibration import matches_gold
from annotation.judging.circulation import return_to_circulation, take_out_of_circulation
from annotation.judging.collection import (
    BatchProgress,
    CollectionProgress,
    batch_progress,
    collection_progress,
)
from annotation.judging.image_flags import restore_image, withdrawn_images
from annotation.judging.progress import (
    AnnotatorProgress,
    annotator_progress,
    judged_by,
    tasks_left_for,
)
from annotation.judging.redundancy import REDUNDANCY_FIELDS, RedundancyRejected, set_redundancy
from annotation.judging.stopping import redundancy_problems, wants_more
from annotation.judging.submission import (
    SubmissionError,
    Submitted,
    skip_assignment,
    submit_judgment,
)

__all__ = [
    "REDUNDANCY_FIELDS",
    "AnnotatorExcluded",
    "AnnotatorProgress",
    "BatchProgress",
    "CalibrationFailed",
    "CollectionProgress",
    "Lease",
    "NotAMember",
    "RedundancyRejected",
    "SubmissionError",
    "Submitted",
    "annotator_progress",
    "batch_progress",
    "collection_progress",
    "expire_leases",
    "judged_by",
    "matches_gold",
    "next_assignment",
    "redundancy_problems",
    "restore_image",
    "return_to_circulation",
    "set_redundancy",
    "skip_assignment",
    "submit_judgment",
    "take_out_of_circulation",
    "tasks_left_for",
    "wants_more",
    "withdrawn_images",
]
