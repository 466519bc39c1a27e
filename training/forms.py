"""Forms of the model page: the training policy of a project, the beat schedule and the
frozen evaluation set."""

from __future__ import annotations

from typing import Any

from django import forms

from training.core import POLICY_KNOBS, check_policy_recipe
from training.models import TrainingPolicy


class PolicyForm(forms.ModelForm):
    """The policy's own settings and the recipe's knobs; a knob's bounds and the rules
    between knobs are training.core's (check_policy_recipe)."""

    class Meta:
        model = TrainingPolicy
        fields = ["enabled", "min_new_judgments", "promote_margin", *POLICY_KNOBS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        judgments = data.get("min_new_judgments")
        if judgments is not None and judgments < 1:
            self.add_error("min_new_judgments", "Give a whole number of 1 or more.")
        margin = data.get("promote_margin")
        if margin is not None and not -1 <= margin <= 1:
            self.add_error(
                "promote_margin", "Give an accuracy difference between -1 and 1 (0.01 = 1 point)."
            )
        knobs = {name: data[name] for name in POLICY_KNOBS if name in data}
        for problem in check_policy_recipe(knobs):
            self.add_error(problem.field, problem.ask)
        return data


class ScheduleForm(forms.Form):
    interval_minutes = forms.IntegerField(
        min_value=1,
        max_value=7 * 24 * 60,
        help_text="How often the periodic task looks for projects due for a cycle.",
    )
    enabled = forms.BooleanField(required=False, help_text="Off: no cycle starts on its own.")


NEW_EVALUATION_SET = "new"


class EvaluationSetForm(forms.Form):
    """Which snapshot to freeze as the project's evaluation set: one of its finished
    snapshots with judged test groups, or a new export of its test split."""

    snapshot = forms.ChoiceField(label="Evaluation set")

    def __init__(self, *args: Any, snapshots: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(NEW_EVALUATION_SET, "a new snapshot of the current test split")]
        for snapshot in snapshots:
            tasks = snapshot.counts.get("splits", {}).get("test", {}).get("tasks", 0)
            choices.append(
                (
                    str(snapshot.pk),
                    f"snapshot {snapshot.pk} of {snapshot.created_at:%Y-%m-%d %H:%M} "
                    f"({tasks} test group(s))",
                )
            )
        field = self.fields["snapshot"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def snapshot_id(self) -> int | None:
        value = self.cleaned_data["snapshot"]
        return None if value == NEW_EVALUATION_SET else int(value)
