"""The Celery application; its configuration is the CELERY_* names in settings."""

from __future__ import annotations

import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def freeze_startup_objects(**kwargs: object) -> None:
    """Long-lived imports stay out of full garbage collections (see config/asgi.py)."""
    gc.collect()
    gc.freeze()
