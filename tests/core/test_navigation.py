"""Links between apps come from what each app registers, in the order it asks for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from conversations import services as conversation_services
from conversations.blueprints.builtin import NETWORK_SERVICE
from core import navigation
from tests.conftest import TenantUsers


@pytest.fixture
def registry() -> Iterator[None]:
    """The registrations of the installed apps, restored after a test adds its own."""
    sections = dict(navigation._sections)
    next_steps = {subject: dict(steps) for subject, steps in navigation._next_steps.items()}
    yield
    navigation._sections.clear()
    navigation._sections.update(sections)
    navigation._next_steps.clear()
    navigation._next_steps.update(next_steps)


@pytest.mark.django_db
def test_the_portal_menu_lists_every_registered_section_in_order(tenant_users: TenantUsers) -> None:
    page = tenant_users.client_for(tenant_users.member).get(
        reverse("workflows:workflow_list", kwargs={"tenant_slug": "acme"})
    )
    links = [link.label for link in page.context["portal_nav"]]
    assert links == [
        "Dashboard", "Services", "Workflows", "Runs", "Tasks", "Generated services", "Providers", "Usage",
        "API keys", "Members", "Settings",
    ]  # fmt: skip
    active = [link.label for link in page.context["portal_nav"] if link.active]
    assert active == ["Workflows"]


@pytest.mark.usefixtures("registry")
def test_a_section_registered_later_takes_its_place_by_order() -> None:
    navigation.register_section(label="Runs", url_name="workflows:workflow_list", order=35)
    labels = [link.label for link in navigation.tenant_sections(tenant_slug="acme", current=None)]
    # Registering the same URL name again replaces the entry instead of adding a second one.
    assert labels == [
        "Dashboard", "Services", "Runs", "Runs", "Tasks", "Generated services", "Providers", "Usage",
        "API keys", "Members", "Settings",
    ]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_next_steps_are_offered_only_where_they_apply(tenant_users: TenantUsers) -> None:
    conversation = conversation_services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.owner, blueprint=NETWORK_SERVICE
    )
    assert navigation.next_steps("conversation", conversation) == []  # not finished yet
    navigation.register_next_step(
        "conversation", label="Always", url=lambda target: f"/always/{target.pk}", order=1
    )
    assert navigation.next_steps("conversation", conversation) == [
        navigation.Link("Always", f"/always/{conversation.pk}")
    ]
    assert navigation.next_steps("nothing-registered", conversation) == []
