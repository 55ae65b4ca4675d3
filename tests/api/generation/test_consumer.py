"""The generation's JSON event socket: the key at the handshake, replay after an id, live
events, the end, and a key revoked while it is open."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from api import services as api_services
from api.generation import consumers
from api.generation.responses import events_url
from api.models import ApiKey
from codegen import events
from codegen.models import Generation, GenerationEvent
from config.asgi import application
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.codegen.views.builders import State, completed, create, progress_data, set_state
from tests.conftest import TenantUsers
from tests.tenants.test_consumers import until_closed

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(path: str, *headers: tuple[bytes, bytes]) -> tuple[WebsocketCommunicator, bool, Any]:
    socket = WebsocketCommunicator(application, path, headers=list(headers))
    connected, code = await socket.connect(timeout=5)
    return socket, connected, code


def key_header(plaintext: str) -> tuple[bytes, bytes]:
    return (b"x-api-key", plaintext.encode())


async def messages(socket: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    return [json.loads(await socket.receive_from(timeout=5)) for _ in range(count)]


def ran_to_the_end(tenant_users: TenantUsers) -> Generation:
    """A completed generation whose events are progress, a file, a test result, the end."""
    generation = completed(tenant_users)
    GenerationEvent.objects.for_tenant(generation.tenant).filter(generation=generation).delete()
    for kind, data in (
        ("progress", progress_data(State.GENERATING, 40)),
        ("file_generated", {"path": "app/main.py", "status": "valid", "version": 1, "kind": "generated",
                            "size": 120}),
        ("test_result", {"run": 1, "name": "test_health", "classname": "tests.test_api", "outcome": "passed",
                         "duration_ms": 12, "message": ""}),
        ("completed", {"tests_passed": 1, "tests_failed": 0, "files": 4, "message": "Generated."}),
    ):  # fmt: skip
        events.record(generation, kind, data, publish_frame=False)
    return generation


def event_ids(generation: Generation) -> list[int]:
    return list(
        GenerationEvent.objects.for_tenant(generation.tenant)
        .filter(generation=generation)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


async def test_it_sends_every_event_in_the_seeds_shape_then_closes_at_the_end(
    tenant_users: TenantUsers, key: str
) -> None:
    generation = await database_sync_to_async(ran_to_the_end)(tenant_users)
    ids = await database_sync_to_async(event_ids)(generation)

    socket, connected, _ = await connect(events_url(generation.pk), key_header(key))
    assert connected
    texts, code = await until_closed(socket)

    progress, file, test, done = (json.loads(text) for text in texts)
    assert code == consumers.CLOSE_NORMAL
    assert [message["id"] for message in (progress, file, test, done)] == ids
    assert {message["generation_id"] for message in (progress, file, test, done)} == {generation.pk}
    assert (progress["type"], progress["progress"], progress["state"]) == ("progress", 40, "generating")
    assert file["type"] == "file_generated"
    assert file["file"] == {
        "name": "app/main.py",
        "size": 120,
        "status": "valid",
        "version": 1,
        "url": f"/api/v1/generate/{generation.pk}/files/app/main.py",
    }
    assert test["type"] == "test_result"
    assert test["test"] == {
        "test_name": "test_health",
        "classname": "tests.test_api",
        "status": "passed",
        "duration": 0.012,
        "message": "",
    }
    assert test["execution_id"] == f"{generation.pk}-1"
    assert (done["type"], done["message"]) == ("completed", "Generated.")


async def test_reconnecting_after_an_id_sends_only_what_came_after(
    tenant_users: TenantUsers, key: str
) -> None:
    generation = await database_sync_to_async(ran_to_the_end)(tenant_users)
    ids = await database_sync_to_async(event_ids)(generation)

    socket, connected, _ = await connect(f"{events_url(generation.pk)}?after={ids[1]}", key_header(key))
    assert connected
    texts, code = await until_closed(socket)
    assert [json.loads(text)["id"] for text in texts] == ids[2:]
    assert code == consumers.CLOSE_NORMAL


async def test_live_events_arrive_until_the_generation_ends(
    tenant_users: TenantUsers, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "FIRST_RECHECK_SECONDS", 60)  # only a wake-up can bring them
    generation = await database_sync_to_async(create)(tenant_users)
    socket, connected, _ = await connect(f"{events_url(generation.pk)}?api_key={key}")
    assert connected
    assert await socket.receive_nothing(timeout=0.1)

    # Recorded as the job records them: the portal's frame, published on commit, wakes the socket.
    await database_sync_to_async(events.record)(generation, "progress", progress_data(State.PLANNING, 5))
    [planning] = await messages(socket, 1)
    assert (planning["type"], planning["progress"]) == ("progress", 5)

    ended = await database_sync_to_async(set_state)(generation, State.CANCELLED)
    await database_sync_to_async(events.record)(ended, "cancelled", {"message": "Cancelled."})
    texts, code = await until_closed(socket)
    assert [json.loads(text)["type"] for text in texts] == ["cancelled"]
    assert code == consumers.CLOSE_NORMAL


async def test_an_event_whose_wake_up_was_lost_comes_at_the_next_look(
    tenant_users: TenantUsers, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "FIRST_RECHECK_SECONDS", 0.05)
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.05)
    generation = await database_sync_to_async(create)(tenant_users)
    socket, connected, _ = await connect(events_url(generation.pk), key_header(key))
    assert connected
    await database_sync_to_async(events.record)(
        generation, "progress", progress_data(State.PLANNING, 7), publish_frame=False
    )
    [message] = await messages(socket, 1)
    assert message["progress"] == 7
    await socket.disconnect()


async def test_a_key_revoked_while_open_closes_the_socket(
    tenant_users: TenantUsers, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "FIRST_RECHECK_SECONDS", 0.05)
    generation = await database_sync_to_async(create)(tenant_users)
    socket, connected, _ = await connect(
        events_url(generation.pk), (b"authorization", f"Bearer {key}".encode())
    )
    assert connected

    def revoke() -> None:
        api_services.api_key_revoke(key=ApiKey.objects.for_tenant(tenant_users.tenant).get(), actor=None)

    await database_sync_to_async(revoke)()
    assert await until_closed(socket) == ([], CLOSE_UNAUTHENTICATED)


async def test_bad_keys_and_foreign_generations_are_refused_at_the_handshake(
    tenant_users: TenantUsers, key: str, gateway_key: str, other_key: str
) -> None:
    generation = await database_sync_to_async(create)(tenant_users)
    path = events_url(generation.pk)
    for headers, query, expected in (
        ((), "", CLOSE_UNAUTHENTICATED),
        ((key_header("sce_abcdefgh_" + "x" * 43),), "", CLOSE_UNAUTHENTICATED),
        ((key_header(key),), "?api_key=sce_abcdefgh_" + "x" * 43, CLOSE_UNAUTHENTICATED),
        ((key_header(key), key_header(key)), "", CLOSE_UNAUTHENTICATED),
        ((key_header(gateway_key),), "", CLOSE_FORBIDDEN),
        ((key_header(other_key),), "", CLOSE_NOT_FOUND),
    ):
        socket, connected, code = await connect(f"{path}{query}", *headers)
        assert (connected, code) == (False, expected), (headers, query)
        await socket.disconnect()
    socket, connected, code = await connect(events_url(generation.pk + 1000), key_header(key))
    assert (connected, code) == (False, CLOSE_NOT_FOUND)
    await socket.disconnect()
