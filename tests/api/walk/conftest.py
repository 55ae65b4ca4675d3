"""What the API walk shares: shared state that starts empty in every test (breakers, quota
counters, kept frames) and the gateway's test timings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from api.inference import tasks
from tests.codegen.views.builders import forget_generation_frames
from tests.gateway_fixtures import fast_gateway, fresh_gateway_state
from tests.workflows.proposal_fixtures import forget_proposal_frames

__all__ = ["fast_gateway", "forget_generation_frames", "forget_proposal_frames", "fresh_gateway_state"]


@pytest.fixture(scope="session")
def _shared_client() -> Client:
    return Client()


@pytest.fixture
def api_client(_shared_client: Client) -> Iterator[Client]:
    """One test client for the whole walk: a new one loads the middleware again (WhiteNoise
    scans every static file then), which would cost more than the calls. The API sets no
    cookies; any it did would be dropped after each test."""
    yield _shared_client
    _shared_client.cookies.clear()


@pytest.fixture
def inference_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """The inference tasks the services send (request pk, lease), recorded instead of sent:
    a socket's request is committed, so its task would otherwise reach the broker."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(tasks.run_inference, "delay", lambda *message: sent.append(message))
    return sent
