"""Intake: everything between an upload and tasks ready for annotators.

One module per job: batch_source (reading a .zip or folder safely), image_checks and
batch_images (deciding what is an image we serve), manifest (the manifest.jsonl format),
hpd_layout and hpd_import (an HPD v2 release folder), project_fit (whether a batch fits
its project), media (content-addressed storage), importing (the import_batch dispatcher
and its transaction), import_jobs (an upload imported in the background by a worker),
batch_processing (cleaning, style, safety and scoring after the commit), prompt_review
(an admin's review of cleaned prompts), cleaning/ (the cleaner, and cleaning/evaluation:
the cleaner measured against labelled prompts).
Other code imports the names below, not the modules.
"""

from annotation.intake.batch_processing import (
    PROCESS_BATCH_TASK,
    enqueue_batch_processing,
    process_batch,
    unprocessed_batch_ids,
)
from annotation.intake.cleaning import PromptCleaning, clean_prompt
from annotation.intake.cleaning.evaluation import (
    LabelsInvalid,
    evaluate_cleaning,
    evaluation_table,
    load_labelled_prompts,
)
from annotation.intake.import_jobs import (
    RUN_IMPORT_JOB_TASK,
    ImportJobRefused,
    cancel_import_job,
    create_import_job,
    describe_import_job,
    queued_import_job_ids,
    retry_import_job,
    run_import_job,
)
from annotation.intake.import_summary import ImportSummary
from annotation.intake.importing import import_batch
from annotation.intake.media import MediaWriter, StorageUnavailable, media_path_for
from annotation.intake.problems import BatchRejected, Problem, ProblemGroup, group_problems
from annotation.intake.prompt_review import (
    ReviewError,
    approve_prompts,
    edit_prompt,
    hold_prompts,
    reclean_project,
    set_annotator_prompt,
)

__all__ = [
    "PROCESS_BATCH_TASK",
    "RUN_IMPORT_JOB_TASK",
    "BatchRejected",
    "ImportJobRefused",
    "ImportSummary",
    "LabelsInvalid",
    "MediaWriter",
    "Problem",
    "ProblemGroup",
    "PromptCleaning",
    "ReviewError",
    "StorageUnavailable",
    "approve_prompts",
    "cancel_import_job",
    "clean_prompt",
    "create_import_job",
    "describe_import_job",
    "edit_prompt",
    "enqueue_batch_processing",
    "evaluate_cleaning",
    "evaluation_table",
    "group_problems",
    "hold_prompts",
    "import_batch",
    "load_labelled_prompts",
    "media_path_for",
    "process_batch",
    "queued_import_job_ids",
    "reclean_project",
    "retry_import_job",
    "run_import_job",
    "set_annotator_prompt",
    "unprocessed_batch_ids",
]
