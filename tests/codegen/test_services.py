"""Creating generations: what they are made from, refusals, the monthly quota (reserved
atomically, given back when nothing was produced), cancelling one that has not started."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from codegen import selectors, services
from codegen.models import Generation, GenerationEvent
from codegen.services import GenerationRefused
from codegen.spec import Options
from conversations.models import Conversation
from tenants.models import Tenant
from tests.codegen.fixtures import REQUIREMENTS, Message, sent
from tests.conftest import TenantUsers
from tests.workflows.proposal_fixtures import complete_conversation

__all__ = ["sent"]

pytestmark = pytest.mark.django_db(transaction=True)


def create(tenant_users: TenantUsers, **overrides: Any) -> Generation:
    values: dict[str, Any] = {
        "tenant": tenant_users.tenant,
        "actor": tenant_users.member,
        "options": Options(),
        "mode": Generation.Mode.TEMPLATE,
        "requirements": dict(REQUIREMENTS),
        **overrides,
    }
    return services.generation_create(**values)


def test_a_generation_from_a_complete_interview_snapshots_its_requirements_and_sends_its_lease(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    conversation = complete_conversation(tenant_users)
    generation = create(tenant_users, conversation=conversation, requirements=None)
    assert generation.requirements["title"] == conversation.title
    assert generation.requirements["requirements"]["steps"]["value"]
    assert generation.state == Generation.State.QUEUED
    assert [entry["state"] for entry in generation.transitions] == ["queued"]
    assert sent == [(generation.pk, generation.run_token)]
    assert generation.quota_counted
    assert generation.quota_month is not None


def test_an_unfinished_interview_is_refused(tenant_users: TenantUsers, sent: list[Message]) -> None:
    from conversations import services as conversation_services
    from conversations.blueprints.builtin import BUSINESS_PROCESS

    unfinished = conversation_services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=BUSINESS_PROCESS, title="Half done"
    )
    with pytest.raises(GenerationRefused) as refused:
        create(tenant_users, conversation=unfinished, requirements=None)
    assert refused.value.code == "not_complete"
    assert sent == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"options": Options(target="cobol-cics")}, "unknown_target"),
        ({"mode": "telepathy"}, "bad_mode"),
        ({"requirements": {"title": "x"}}, "bad_input"),
        ({"requirements": ["not", "an", "object"]}, "bad_input"),
        (
            {"requirements": {"title": "x", "requirements": {"k": {"label": "K", "value": "v" * 300_000}}}},
            "bad_input",
        ),
        ({"workflow_document": ["not", "an", "object"]}, "bad_input"),
    ],
)
def test_bad_input_is_refused_with_a_code(
    tenant_users: TenantUsers, sent: list[Message], overrides: dict[str, Any], code: str
) -> None:
    with pytest.raises(GenerationRefused) as refused:
        create(tenant_users, **overrides)
    assert refused.value.code == code
    assert refused.value.message
    assert not Generation.objects.for_tenant(tenant_users.tenant).exists()


def test_another_tenants_interview_is_refused(tenant_users: TenantUsers, sent: list[Message]) -> None:
    other = tenant_users.other_tenant
    conversation: Conversation = complete_conversation(tenant_users)
    with pytest.raises(GenerationRefused):
        services.generation_create(
            tenant=other, actor=None, options=Options(), mode="template", conversation=conversation
        )


def test_the_free_plan_has_one_generation_a_month(tenant_users: TenantUsers, sent: list[Message]) -> None:
    tenant_users.tenant.plan = Tenant.Plan.FREE
    tenant_users.tenant.save()
    create(tenant_users)
    with pytest.raises(GenerationRefused) as refused:
        create(tenant_users)
    assert refused.value.code == "quota_exceeded"
    assert "1 generation a month" in refused.value.message
    status = selectors.quota_status(tenant_users.tenant)
    assert (status.used, status.limit, status.left) == (1, 1, 0)


def test_enterprise_is_unlimited(tenant_users: TenantUsers, sent: list[Message]) -> None:
    tenant_users.tenant.plan = Tenant.Plan.ENTERPRISE
    tenant_users.tenant.save()
    for _ in range(3):
        create(tenant_users)
    assert selectors.quota_status(tenant_users.tenant).left is None


def test_cancelling_a_queued_generation_gives_its_month_back(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    tenant_users.tenant.plan = Tenant.Plan.FREE
    tenant_users.tenant.save()
    generation = create(tenant_users)
    cancelled = services.generation_cancel(generation=generation, actor=tenant_users.member)
    assert cancelled.state == Generation.State.CANCELLED
    assert not cancelled.quota_counted
    assert GenerationEvent.objects.for_tenant(tenant_users.tenant).filter(kind="cancelled").count() == 1
    create(tenant_users)  # the month's generation is available again
    with pytest.raises(GenerationRefused):
        services.generation_cancel(generation=cancelled, actor=tenant_users.member)


def test_a_failed_generation_that_produced_nothing_gives_its_month_back(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    tenant_users.tenant.plan = Tenant.Plan.FREE
    tenant_users.tenant.save()
    generation = create(tenant_users)
    failed = services.generation_fail(generation=generation, code="stuck", message="stuck")
    assert failed is not None
    assert not failed.quota_counted
    assert services.generation_fail(generation=generation, code="stuck", message="again") is None
    create(tenant_users)


def test_two_starts_at_the_limit_admit_exactly_one(tenant_users: TenantUsers, sent: list[Message]) -> None:
    tenant_users.tenant.plan = Tenant.Plan.STARTER
    tenant_users.tenant.save()
    for _ in range(9):
        create(tenant_users)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start() -> None:
        try:
            barrier.wait()
            create(tenant_users)
            outcomes.append("admitted")
        except GenerationRefused as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["admitted", "quota_exceeded"]
    assert selectors.quota_status(tenant_users.tenant).used == 10


def test_rerun_and_regenerate_are_refused_while_it_runs(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    generation = create(tenant_users)
    with pytest.raises(GenerationRefused) as refused:
        services.generation_rerun_tests(generation=generation, actor=tenant_users.member)
    assert refused.value.code == "not_allowed"
    with pytest.raises(GenerationRefused):
        services.generation_regenerate_file(
            generation=generation, path="app/main.py", actor=tenant_users.member
        )
    with pytest.raises(GenerationRefused):
        services.generation_retry(generation=generation, actor=None)
