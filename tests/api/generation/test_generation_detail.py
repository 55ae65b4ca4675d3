"""GET /api/v1/generate/{id}, its files and its zip: the tenant's own generations only."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

import pytest
from django.test import Client

from codegen import events
from tests.api.generation.conftest import bearer
from tests.codegen.views.builders import (
    FILES,
    State,
    add_plan,
    add_version,
    completed,
    create,
    progress_data,
    set_state,
)
from tests.conftest import TenantUsers

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db


def get(key: str, url: str) -> _MonkeyPatchedWSGIResponse:
    return Client().get(url, headers=bearer(key))


def test_it_shows_a_finished_generations_files_and_metadata(tenant_users: TenantUsers, key: str) -> None:
    generation = completed(tenant_users)

    response = get(key, f"/api/v1/generate/{generation.pk}")

    assert response.status_code == 200
    body = response.json()
    assert (body["generation_id"], body["status"], body["progress"]) == (generation.pk, "completed", 100)
    assert body["title"] == "Order fulfilment"
    assert body["error"] is None
    by_name = {file["name"]: file for file in body["files"]}
    assert list(by_name) == list(FILES)
    main = by_name["app/main.py"]
    assert main["content"] == FILES["app/main.py"]
    assert main["size"] == len(FILES["app/main.py"].encode())
    assert (main["status"], main["version"]) == ("valid", 1)
    assert main["url"] == f"/api/v1/generate/{generation.pk}/files/app/main.py"
    metadata = body["metadata"]
    assert (metadata["mode"], metadata["target"], metadata["files_count"]) == (
        "template",
        "python-fastapi",
        4,
    )
    assert metadata["lines_of_code"] == sum(content.count("\n") for content in FILES.values())
    assert metadata["timings"]["queued_at"]
    assert metadata["timings"]["transitions"][0]["state"] == "queued"
    assert metadata["tests"] == {
        "execution_id": f"{generation.pk}-1",
        "outcome": "failed",
        "runs": 1,
        "summary": {"total": 2, "passed": 1, "failed": 1, "errors": 0, "skipped": 0, "duration": 0.024},
    }
    assert body["archive_url"] == f"/api/v1/generate/{generation.pk}/archive"
    assert body["events_url"] == f"/api/v1/generate/{generation.pk}/ws"


def test_content_can_be_left_out(tenant_users: TenantUsers, key: str) -> None:
    generation = completed(tenant_users)
    body = get(key, f"/api/v1/generate/{generation.pk}?content=false").json()
    assert {file["content"] for file in body["files"]} == {None}
    assert body["metadata"]["files_count"] == 4
    assert get(key, f"/api/v1/generate/{generation.pk}?content=maybe").status_code == 400


def test_a_running_generation_shows_its_progress_and_the_files_so_far(
    tenant_users: TenantUsers, key: str
) -> None:
    generation = create(tenant_users)
    add_plan(generation, list(FILES))
    add_version(generation, "app/main.py", FILES["app/main.py"])
    generation = set_state(generation, State.GENERATING)
    events.record(generation, "progress", progress_data(State.GENERATING, 35), publish_frame=False)

    body = get(key, f"/api/v1/generate/{generation.pk}").json()

    assert (body["status"], body["progress"]) == ("generating", 35)
    written = [file for file in body["files"] if file["version"] is not None]
    assert [file["name"] for file in written] == ["app/main.py"]
    planned = next(file for file in body["files"] if file["name"] == "app/models.py")
    assert (planned["status"], planned["size"], planned["url"], planned["content"]) == (
        "planned",
        0,
        None,
        None,
    )
    assert body["metadata"]["tests"] == {"execution_id": None, "outcome": None, "runs": 0, "summary": None}


def test_a_failed_generation_says_why(tenant_users: TenantUsers, key: str) -> None:
    generation = set_state(create(tenant_users), State.FAILED, error_code="timeout", error_message="too slow")
    body = get(key, f"/api/v1/generate/{generation.pk}").json()
    assert body["error"] == {"code": "timeout", "message": "too slow"}


def test_a_file_is_served_as_text(tenant_users: TenantUsers, key: str) -> None:
    generation = completed(tenant_users)
    response = get(key, f"/api/v1/generate/{generation.pk}/files/app/main.py")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == FILES["app/main.py"]
    missing = get(key, f"/api/v1/generate/{generation.pk}/files/app/nothing.py")
    assert missing.status_code == 404
    assert missing.json()["error"] == "file_not_found"


def test_the_archive_is_a_zip_of_every_file(tenant_users: TenantUsers, key: str) -> None:
    generation = completed(tenant_users)
    response = get(key, f"/api/v1/generate/{generation.pk}/archive")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="order_fulfilment-{generation.pk}.zip"'
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == sorted(f"order_fulfilment/{path}" for path in FILES)

    empty = create(tenant_users)
    response = get(key, f"/api/v1/generate/{empty.pk}/archive")
    assert response.status_code == 409
    assert response.json()["error"] == "no_files"


def test_another_tenants_generation_is_404_like_a_missing_one(
    tenant_users: TenantUsers, key: str, other_key: str
) -> None:
    generation = completed(tenant_users)
    for url in (
        "/api/v1/generate/{}",
        "/api/v1/generate/{}/files/app/main.py",
        "/api/v1/generate/{}/archive",
    ):
        assert get(key, url.format(generation.pk)).status_code == 200
        foreign = get(other_key, url.format(generation.pk))
        assert foreign.status_code == 404, url
        assert foreign.json()["error"] == "generation_not_found"
        assert "Order" not in foreign.content.decode()
        missing = get(key, url.format(generation.pk + 1000))
        assert missing.status_code == 404
        assert missing.json() == {
            "error": "generation_not_found",
            "message": f"There is no generation {generation.pk + 1000}.",
        }


def test_a_key_without_the_scope_is_403_and_no_key_401(tenant_users: TenantUsers, gateway_key: str) -> None:
    generation = completed(tenant_users)
    assert get(gateway_key, f"/api/v1/generate/{generation.pk}").status_code == 403
    assert Client().get(f"/api/v1/generate/{generation.pk}").status_code == 401


def test_an_id_that_is_not_a_number_is_not_a_generation(key: str) -> None:
    response = get(key, "/api/v1/generate/abc")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
