"""Forms of the model page: the training policy of a project and the beat schedule."""

from __future__ import annotations

from typing import Any

from django import forms

from training.models import TrainingPolicy


class PolicyForm(forms.ModelForm):
    class Meta:
        model = TrainingPolicy
        fields = [
            "enabled", "min_new_judgments", "promote_margin", "steps", "batch_size",
            "global_batch", "lr", "weight_decay", "warmup_steps", "unlocked_image_groups",
            "unlocked_text_layers", "precision", "eval_every", "checkpoint_every", "workers",
            "seed",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        positive = ("min_new_judgments", "steps", "batch_size", "global_batch", "checkpoint_every")
        for name in positive:
            value = data.get(name)
            if value is not None and value < 1:
                self.add_error(name, "Give a whole number of 1 or more.")
        margin = data.get("promote_margin")
        if margin is not None and not -1 <= margin <= 1:
            self.add_error(
                "promote_margin", "Give an accuracy difference between -1 and 1 (0.01 = 1 point)."
            )
        lr = data.get("lr")
        if lr is not None and not 0 < lr <= 1:
            self.add_error("lr", "Give a learning rate above 0 and at most 1 (HPS v2: 3.3e-6).")
        decay = data.get("weight_decay")
        if decay is not None and not 0 <= decay <= 10:
            self.add_error("weight_decay", "Give a weight decay between 0 and 10 (HPS v2: 0.35).")
        batch, global_batch = data.get("batch_size"), data.get("global_batch")
        if batch and global_batch and (global_batch < batch or global_batch % batch):
            self.add_error(
                "global_batch",
                f"Give a multiple of the batch size ({batch}): pairs per optimizer step are "
                "accumulated over whole batches.",
            )
        steps, warmup = data.get("steps"), data.get("warmup_steps")
        if steps and warmup is not None and warmup > steps:
            self.add_error("warmup_steps", f"Give at most the number of steps ({steps}).")
        workers = data.get("workers")
        if workers is not None and workers > 64:
            self.add_error("workers", "Give at most 64 data loader processes.")
        return data


class ScheduleForm(forms.Form):
    interval_minutes = forms.IntegerField(
        min_value=1,
        max_value=7 * 24 * 60,
        help_text="How often the periodic task looks for projects due for a cycle.",
    )
    enabled = forms.BooleanField(required=False, help_text="Off: no cycle starts on its own.")
