"""Judging: handing tasks to annotators and storing what they decide.

assignment (next_assignment: the slot rule and its locks; expiring leases), submission
(submit_judgment and skip_assignment: stored exactly once, with derived pair rows),
calibration (a new annotator's gold round), stopping (the stopping rule of adaptive
redundancy; redundancy: changing a project's settings of it), serving (the serving order and the
scorer's stored task margins it reads), progress (an annotator's own figures),
collection (how a project's or batch's collection is going: the progress dashboard),
image_flags (broken/unsafe flags and withdrawal), circulation (which tasks are offered:
the rule every caller shares), undo (an annotator takes their last judgment back), ties
(images judged about the same), options (a project's ties and reason chips),
project_settings (the settings a manager changes together, at once or not at all).
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
from annotation.judging.project_settings import COLLECTION_FIELDS, change_project_settings
from annotation.judging.redundancy import REDUNDANCY_FIELDS, RedundancyRejected, set_redundancy
from annotation.judging.serving import (
    SERVING_ORDERS,
    ServingOrderRejected,
    refresh_margins,
    serving_order_problems,
    set_serving_order,
)
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
    "COLLECTION_FIELDS",
    "JUDGING_OPTION_FIELDS",
    "MAX_NOTE_LENGTH",
    "REDUNDANCY_FIELDS",
    "SERVING_ORDERS",
    "AnnotatorExcluded",
    "AnnotatorProgress",
    "BatchProgress",
    "CalibrationFailed",
    "CollectionProgress",
    "Lease",
    "NotAMember",
    "NothingToUndo",
    "OptionsRejected",
    "RedundancyRejected",
    "ServingOrderRejected",
    "SubmissionError",
    "Submitted",
    "Undone",
    "annotator_progress",
    "batch_progress",
    "change_project_settings",
    "collection_progress",
    "competition_ranks",
    "derived_pairs",
    "expire_leases",
    "judged_by",
    "judging_option_problems",
    "matches_gold",
    "next_assignment",
    "redundancy_problems",
    "refresh_margins",
    "restore_image",
    "return_to_circulation",
    "serving_order_problems",
    "set_judging_options",
    "set_redundancy",
    "set_serving_order",
    "skip_assignment",
    "submit_judgment",
    "take_out_of_circulation",
    "tasks_left_for",
    "undo_last_judgment",
    "wants_more",
    "withdrawn_images",
]
