"""Runs per plan: at the limit a run is refused with what to do, before anything is stored."""

from __future__ import annotations

import pytest
from django.test import override_settings

from runs import limits, services
from runs.models import Run
from tests.conftest import TenantUsers
from tests.workflows import samples

pytestmark = pytest.mark.django_db

DOCUMENT = samples.workflow([samples.node("a", activity_name="log", input_mapping={"message": "x"})])
LIMITS = {
    "free": {"concurrent": 2, "monthly": 3},
    "starter": {"concurrent": None, "monthly": None},
    "pro": {"concurrent": None, "monthly": None},
    "enterprise": {"concurrent": None, "monthly": None},
}


def stored_run(users: TenantUsers, status: str, number: int) -> Run:
    return Run.objects.create(
        tenant=users.tenant,
        title="Old",
        document=DOCUMENT,
        status=status,
        temporal_workflow_id=f"old-{users.tenant.pk}-{number}",
        quota_month=limits.current_month(),
    )


@override_settings(RUN_LIMITS=LIMITS)
def test_runs_at_once_are_bounded_by_the_plan(tenant_users: TenantUsers) -> None:
    stored_run(tenant_users, Run.Status.RUNNING, 1)
    stored_run(tenant_users, Run.Status.WAITING, 2)
    with pytest.raises(services.RunRefused) as refused:
        services.run_start(tenant=tenant_users.tenant, document=DOCUMENT)
    assert refused.value.code == "limit_reached"
    assert "2 workflow runs at a time" in refused.value.message
    assert Run.objects.for_tenant(tenant_users.tenant).count() == 2


@override_settings(RUN_LIMITS=LIMITS)
def test_runs_per_month_are_bounded_by_the_plan(tenant_users: TenantUsers) -> None:
    for number in range(3):
        stored_run(tenant_users, Run.Status.SUCCEEDED, number)
    with pytest.raises(services.RunRefused) as refused:
        services.run_start(tenant=tenant_users.tenant, document=DOCUMENT)
    assert refused.value.code == "limit_reached"
    assert "3 runs this month are used up" in refused.value.message


@override_settings(RUN_LIMITS=LIMITS, TEMPORAL_ADDRESS="127.0.0.1:1", EMBEDDED_TEMPORAL=False)
def test_a_larger_plan_is_not_bounded(tenant_users: TenantUsers) -> None:
    tenant_users.tenant.plan = "enterprise"
    tenant_users.tenant.save()
    for number in range(5):
        stored_run(tenant_users, Run.Status.RUNNING, number)
    run = services.run_start(tenant=tenant_users.tenant, document=DOCUMENT)
    assert run.error_code == "temporal_unavailable"  # admitted; Temporal is away here
