"""Judging: handing tasks to annotators and storing what they decide.

assignment (next_assignment: the slot rule and its locks; expiring leases), submission
(submit_judgment and skip_assignment: stored exactly once, with derived pair rows),
calibration (a new annotator's gold round), stopping (the stopping rule of adaptive
redundancy; redundancy: changing a project's settings of it), progress (an annotator's own figures),
image_flags (broken/unsafe flags and withdrawal), circulation (which tasks are offered:
the rule every caller shares), undo (an annotator takes their last judgment back), ties
(images judged about the same), options (a project's ties and reason chips).
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
from annotation.judging.image_flags import restore_image, withdrawn_images
from annotation.judging.options import (
    JUDGING_OPTION_FIELDS,
    OptionsRejected,
    judging_option_problems,
    set_judging_options,
)
from annotation.judging.progress import (
    AnnotatorProgress,
    annotator_progress,
    judged_by,
    tasks_left_for,
)
from annotation.judging.redundancy import REDUNDANCY_FIELDS, RedundancyRejected, set_redundancy
from annotation.judging.stopping import redundancy_problems, wants_more
from annotation.judging.submission import (
    MAX_NOTE_LENGTH,
    SubmissionError,
    Submitted,
    skip_assignment,
    submit_judgment,
)
from annotation.judging.ties import competition_ranks, derived_pairs
from annotation.judging.undo import NothingToUndo, Undone, undo_last_judgment

__all__ = [
    "JUDGING_OPTION_FIELDS",
    "MAX_NOTE_LENGTH",
    "REDUNDANCY_FIELDS",
    "AnnotatorExcluded",
    "AnnotatorProgress",
    "CalibrationFailed",
    "Lease",
    "NotAMember",
    "NothingToUndo",
    "OptionsRejected",
    "RedundancyRejected",
    "SubmissionError",
    "Submitted",
    "Undone",
    "annotator_progress",
    "competition_ranks",
    "derived_pairs",
    "expire_leases",
    "judged_by",
    "judging_option_problems",
    "matches_gold",
    "next_assignment",
    "redundancy_problems",
    "restore_image",
    "return_to_circulation",
    "set_judging_options",
    "set_redundancy",
    "skip_assignment",
    "submit_judgment",
    "take_out_of_circulation",
    "tasks_left_for",
    "undo_last_judgment",
    "wants_more",
    "withdrawn_images",
]
