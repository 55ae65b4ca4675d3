"""The Celery application; its configuration is the CELERY_* names in settings."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
