"""Request and response bodies of the annotator endpoints (next, submit, skip)."""

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
    flags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    calibration = CalibrationFeedbackSerializer(allow_null=True)
    next = LeaseSerializer(
        required=False, allow_null=True, help_text="Only with ?next=1: the next lease."
    )


class SkippedSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    status = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
