"""The Celery application: settings from Django's (namespace CELERY_), tasks autodiscovered."""

from celery import Celery

from config.entry import choose_settings

choose_settings()

app = Celery("hpd")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
