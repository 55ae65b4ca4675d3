"""Seed 002's flow through the API, in template mode with the real sandbox (bubblewrap):
generate a service from requirements, follow its events, read its files, run its tests
again, read their results."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from codegen import jobs
from config.asgi import application
from tests.api.generation.conftest import bearer
from tests.codegen.fixtures import Message
from tests.tenants.test_consumers import until_closed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="bubblewrap is installed by scripts/ensure-system-tools"
    ),
]


async def events_of(path: str, key: str) -> tuple[list[dict[str, Any]], int | None]:
    socket = WebsocketCommunicator(application, path, headers=[(b"x-api-key", key.encode())])
    connected, _ = await socket.connect(timeout=5)
    assert connected
    texts, code = await until_closed(socket, wait=20)
    return [json.loads(text) for text in texts], code


def test_a_service_generated_from_requirements_passes_its_tests_run_again(
    key: str, sent: list[Message]
) -> None:
    client = Client(headers=bearer(key))
    accepted = client.post(
        "/api/v1/generate/code",
        {
            "requirements": {
                "service_type": "vFirewall",
                "vendor": "Cisco",
                "features": ["traffic_filtering"],
            },
            "options": {"language": "python", "framework": "fastapi", "include_tests": True},
            "mode": "template",
        },
        content_type="application/json",
    )
    assert accepted.status_code == 202
    generation_id = accepted.json()["generation_id"]
    [(queued_id, lease)] = sent
    assert queued_id == generation_id

    ended = jobs.generation_run(generation_id=generation_id, lease=lease)  # the worker's part
    assert ended is not None

    status = client.get(accepted.json()["status_url"]).json()
    assert status["status"] == "completed", status["error"]
    files = {file["name"]: file for file in status["files"]}
    assert "app/main.py" in files
    assert "vFirewall" in str(files["README.md"]["content"])
    assert client.get(files["app/main.py"]["url"]).content.decode() == files["app/main.py"]["content"]
    tests = status["metadata"]["tests"]
    assert (tests["execution_id"], tests["outcome"]) == (f"{generation_id}-1", "passed")
    assert tests["summary"]["passed"] == tests["summary"]["total"] >= 5

    followed, code = async_to_sync(events_of)(accepted.json()["events_url"], key)
    kinds = [message["type"] for message in followed]
    assert {"progress", "file_generated", "test_result", "completed"} <= set(kinds)
    assert kinds[-1] == "completed"
    assert code == 1000
    assert followed[-1]["tests_passed"] == tests["summary"]["passed"]

    execution = client.post(
        "/api/v1/testing/execute", {"generation_id": generation_id}, content_type="application/json"
    )
    assert execution.status_code == 202
    assert execution.json()["test_execution_id"] == f"{generation_id}-2"
    assert client.get(execution.json()["results_url"]).json()["status"] == "queued"
    assert jobs.generation_run(generation_id=generation_id, lease=sent[1][1]) is not None

    results = client.get(execution.json()["results_url"]).json()
    assert (results["status"], results["outcome"], results["exit_code"]) == ("completed", "passed", 0)
    assert results["summary"] == {**tests["summary"], "duration": results["summary"]["duration"]}
    assert {result["status"] for result in results["results"]} == {"passed"}
    assert len(results["results"]) == results["summary"]["total"]
