from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from tenants.models import Invitation
from tenants.tasks import purge_closed_invitations
from tests.factories import InvitationFactory, TenantFactory


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_here_runs_in_the_worker_process(
    celery_worker_process: subprocess.Popen[bytes],
) -> None:
    tenant = TenantFactory.create()
    long_closed = InvitationFactory.create(tenant=tenant, revoked_at=timezone.now() - timedelta(days=40))
    still_open = InvitationFactory.create(tenant=tenant)

    result = purge_closed_invitations.delay(30)

    assert result.get(timeout=30) == 1
    invitations = Invitation.objects.for_tenant(tenant)
    assert not invitations.filter(pk=long_closed.pk).exists()
    assert invitations.filter(pk=still_open.pk).exists()
    assert celery_worker_process.pid != os.getpid()
    assert celery_worker_process.poll() is None


def test_celery_is_configured_not_to_lose_work() -> None:
    conf = app.conf
    assert conf.task_always_eager is False
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.broker_url == settings.CELERY_BROKER_URL


def test_a_job_whose_worker_died_is_resumed_within_a_minute() -> None:
    """The broker gives a dead worker's message back only after hours; the sweeper runs every
    JOB_SWEEP_SECONDS and resumes a job once its heartbeat is JOB_HEARTBEAT_STALE_SECONDS old."""
    sweeper = app.conf.beat_schedule["workflow-proposals-sweeper"]
    assert sweeper["task"] == "workflows.tasks.resume_stalled_proposals"
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker loads them
    assert sweeper["task"] in app.tasks
    period = sweeper["schedule"].total_seconds()
    assert period == settings.JOB_SWEEP_SECONDS <= 20
    assert settings.JOB_HEARTBEAT_STALE_SECONDS + period <= 60
    assert settings.JOB_HEARTBEAT_STALE_SECONDS >= 2 * settings.JOB_HEARTBEAT_SECONDS, (
        "a late beat is no death"
    )
