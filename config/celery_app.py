"""The Celery application: settings from Django's (namespace CELERY_), tasks autodiscovered."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("hpd")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
