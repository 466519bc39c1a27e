"""The periodic start of training cycles, as a django-celery-beat row admins can edit."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SCHEDULE_NAME = "training: start due cycles"


def create_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = interval_model.objects.get_or_create(every=15, period="minutes")
    task_model.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"task": "training.start_due_cycles", "interval": interval, "enabled": True},
    )


def remove_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=SCHEDULE_NAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0001_training_runs_and_policies"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
