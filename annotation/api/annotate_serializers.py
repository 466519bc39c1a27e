"""Request and response bodies of the annotator endpoints (next, submit, skip, undo)."""

from rest_framework import serializers

from annotation.models import JudgmentFlag


class LeaseImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()


class LeaseSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    task_type = serializers.CharField()
    prompt = serializers.CharField(help_text="The prompt the images were generated from.")
    images = LeaseImageSerializer(many=True, help_text="In display order, left to right.")
    expires_at = serializers.DateTimeField()
    expires_in_s = serializers.FloatField(
        help_text="Seconds left on the lease when it was answered (free of clock skew)."
    )
    guideline_version = serializers.CharField()
    is_calibration = serializers.BooleanField(
        help_text="A calibration task: feedback follows the submit."
    )
    allow_ties = serializers.BooleanField(help_text="Whether images may be judged tied.")
    reason_chips = serializers.ListField(
        child=serializers.CharField(), help_text="The reasons that may be ticked."
    )


class SubmitSerializer(serializers.Serializer):
    ranking = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=2,
        max_length=64,
        help_text="Every image id of the task, best to worst.",
    )
    duration_ms = serializers.IntegerField(
        required=False, allow_null=True, help_text="Time spent on the task, in milliseconds."
    )
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=JudgmentFlag.choices),
        required=False,
        default=list,
        max_length=3,
    )
    flagged_images = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        max_length=64,
        help_text="Image ids a 'broken_image' or 'unsafe' flag is about.",
    )
    levels = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        default=list,
        max_length=64,
        help_text="Ties, where the project allows them: the level of each image of the "
        "ranking (0 best, rising by 0 or 1 down the ranking; equal levels tie). Leave out "
        "for a strict order.",
    )
    reasons = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        max_length=16,
        help_text="Reason chips ticked, from the project's reason_chips.",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=True,
        help_text="A free-text note (at most 500 characters).",
    )


class SkipSerializer(serializers.Serializer):
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=JudgmentFlag.choices),
        required=False,
        default=list,
        max_length=3,
    )
    flagged_images = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=64
    )


class CalibrationFeedbackSerializer(serializers.Serializer):
    correct = serializers.BooleanField()
    expected = serializers.ListField(child=serializers.IntegerField())
    done = serializers.IntegerField()
    round_size = serializers.IntegerField()
    passed = serializers.BooleanField(allow_null=True)


class SubmittedSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    judgment = serializers.IntegerField()
    ranking = serializers.ListField(child=serializers.IntegerField())
    levels = serializers.ListField(child=serializers.IntegerField())
    flags = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    calibration = CalibrationFeedbackSerializer(allow_null=True)
    next = LeaseSerializer(
        required=False, allow_null=True, help_text="Only with ?next=1: the next lease."
    )


class UndoneSerializer(serializers.Serializer):
    undone = serializers.IntegerField(help_text="The judgment taken back.")
    lease = LeaseSerializer(help_text="Its task, leased to you again: judge it anew.")


class SkippedSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    status = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
