from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.test.signals import template_rendered

from core import embedded_redis
from providers.routing import forget_setup
from tenants.models import Membership, Role, Tenant, User
from tests import servers
from tests.context_guard import refuse_shadowing
from tests.factories import MembershipFactory, TenantFactory

# The session's Temporal dev server, started on first use (temporal_server, temporal_settings).
pytest_plugins = ["tests.temporal"]

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="session", autouse=True)
def redis_server() -> Iterator[None]:
    """The suite's Redis: the bundled one in a private directory, or REDIS_URL's (emptied)."""
    if settings.EMBEDDED_REDIS:
        process = embedded_redis.start(socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR)
        try:
            yield
        finally:
            embedded_redis.stop(process)
    else:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
        yield


@pytest.fixture(scope="session", autouse=True)
def close_test_database_sessions(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Let the test database be dropped at the end of the run.

    Connections outlive their tests in places pytest-django does not close: asgiref's
    shared sync thread (async tests), the contexts Playwright's loop runs database work in,
    and the servers the tests started, whose sessions PostgreSQL ends a moment after they
    exit. Close what can be closed; end what is left.
    """
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session", autouse=True)
def no_context_shadowing() -> Iterator[None]:
    template_rendered.connect(refuse_shadowing)
    yield
    template_rendered.disconnect(refuse_shadowing)


@pytest.fixture(autouse=True)
def fresh_routing_setups() -> Iterator[None]:
    """Cached tenant setups must not outlive a test: ids are reused after a flush."""
    forget_setup()
    yield
    forget_setup()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = ARTIFACTS
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def live_server_url(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The real ASGI server (daphne) on the test database. Tests that use it need
    `transactional_db` so their rows are committed where the server can see them."""
    with servers.daphne_server(tmp_path_factory.mktemp("daphne")) as url:
        yield url


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    with servers.celery_worker(tmp_path_factory.mktemp("celery")) as process:
        yield process


@dataclass
class TenantUsers:
    """A tenant with one user per role, and an outsider who owns another tenant."""

    tenant: Tenant
    owner: User
    admin: User
    member: User
    viewer: User
    outsider: User
    other_tenant: Tenant

    def membership(self, user: User) -> Membership:
        return Membership.objects.for_tenant(self.tenant).get(user=user)

    def client_for(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def tenant_users(db: None) -> TenantUsers:
    tenant = TenantFactory.create(name="Acme Networks", slug="acme")
    other = TenantFactory.create(name="Globex Secret Labs", slug="globex")
    users = {}
    for role in (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER):
        users[role] = MembershipFactory.create(
            tenant=tenant, role=role, user__email=f"{role.value}@acme.test"
        ).user
    outsider = MembershipFactory.create(
        tenant=other, role=Role.OWNER, user__email="outsider@globex.test"
    ).user
    return TenantUsers(
        tenant=tenant,
        owner=users[Role.OWNER],
        admin=users[Role.ADMIN],
        member=users[Role.MEMBER],
        viewer=users[Role.VIEWER],
        outsider=outsider,
        other_tenant=other,
    )


def pytest_report_header() -> list[str]:
    return [
        f"sce: database={settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
        f"redis={'embedded' if settings.EMBEDDED_REDIS else 'REDIS_URL'} CI={os.environ.get('CI', '')}"
    ]
