"""A model-mode generation as the Anthropic wire emulator plays it: the tenant's codegen, tests
and docs tasks routed to it, a plan of five files (and the compiled Go workflow) with its
docs, each file's reply, and the order the pipeline asks for them in.

With settings.CODEGEN_CONCURRENCY = 1 the calls come one at a time in a fixed order: the
plan, the files in the plan's order (each depends only on earlier ones, so the order of its
dependency layers is the plan's; the Go workflow is copied without a call), the fixes, the
review, then README.md and API.md. A test pushes its replies in that order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from codegen.models import Generation
from codegen.spec import Options
from providers import services as provider_services
from providers.interface import Task
from tests.codegen.fixtures import REQUIREMENTS
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.emulators.state import RecordedRequest

# Usage reported for every scripted reply: claude-sonnet-5-5 costs $2 in and $10 out per
# million tokens, so each call costs $0.003.
INPUT_TOKENS = 1000
OUTPUT_TOKENS = 100
CALL_COST_USD = 0.003

PLAN_REPLY: dict[str, Any] = {
    "files": [
        {"path": "requirements.txt", "purpose": "The pins.", "language": "text", "depends_on": []},
        {"path": "app/__init__.py", "purpose": "The package.", "language": "python", "depends_on": []},
        {"path": "app/models.py", "purpose": "The orders.", "language": "python", "depends_on": []},
        {
            "path": "workflow/workflow.go",
            "purpose": "The compiled workflow.",
            "language": "go",
            "depends_on": [],
        },
        {
            "path": "app/main.py",
            "purpose": "The API.",
            "language": "python",
            "depends_on": ["app/models.py"],
        },
        {
            "path": "tests/test_api.py",
            "purpose": "The API's tests.",
            "language": "python",
            "depends_on": ["app/main.py"],
        },
        {"path": "README.md", "purpose": "How to run it.", "language": "markdown", "depends_on": []},
        {"path": "API.md", "purpose": "The endpoints.", "language": "markdown", "depends_on": []},
    ],
    "endpoints": [
        {"method": "GET", "path": "/health", "summary": "Liveness."},
        {"method": "POST", "path": "/orders", "summary": "Take an order."},
        {"method": "GET", "path": "/orders/{order_id}", "summary": "One order."},
    ],
    "notes": "The skeleton, smaller.",
}

REQUIREMENTS_TXT = "fastapi==0.165.0\nhttpx==0.29.0\npydantic==2.14.4\n"
INIT = '"""The Order fulfilment service."""\n'
# As the model wrote it (not formatted): what is stored is ruff's formatting of it.
MODELS = '''"""The orders the service keeps."""
from pydantic import BaseModel

STATUSES = ('new','paid','shipped')


class Order(BaseModel):
    id: int
    item: str
    status: str = 'new'


ORDERS: dict[int, Order] = {}


def find_order(order_id: int) -> Order | None:
    return ORDERS.get(order_id)


def add_order(item: str) -> Order:
    order = Order(id=len(ORDERS) + 1, item=item)
    ORDERS[order.id] = order
    return order
'''
MODELS_FORMATTED = '''"""The orders the service keeps."""

from pydantic import BaseModel

STATUSES = ("new", "paid", "shipped")


class Order(BaseModel):
    id: int
    item: str
    status: str = "new"


ORDERS: dict[int, Order] = {}


def find_order(order_id: int) -> Order | None:
    return ORDERS.get(order_id)


def add_order(item: str) -> Order:
    order = Order(id=len(ORDERS) + 1, item=item)
    ORDERS[order.id] = order
    return order
'''
MAIN = '''"""The Order fulfilment API."""

from fastapi import FastAPI, HTTPException

from app.models import Order, add_order, find_order

app = FastAPI(title="Order fulfilment")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/orders", status_code=201)
def create_order(item: str) -> Order:
    return add_order(item)


@app.get("/orders/{order_id}")
def get_order(order_id: int) -> Order:
    order = find_order(order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="no such order")
    return order
'''
TESTS = """from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_health() -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_an_order_is_taken_and_read_back() -> None:
    created = client.post("/orders", params={"item": "book"})
    assert created.status_code == 201
    order_id = created.json()["id"]
    assert client.get(f"/orders/{order_id}").json()["item"] == "book"
"""
README = "# Order fulfilment\n\nRun it with `uvicorn app.main:app`.\n"
API = "# API\n\n- `GET /health`\n- `POST /orders`\n- `GET /orders/{order_id}`\n"

# The files the model writes, in the order it is asked for them, and its replies.
FILES: dict[str, str] = {
    "requirements.txt": REQUIREMENTS_TXT,
    "app/__init__.py": INIT,
    "app/models.py": MODELS,
    "app/main.py": MAIN,
    "tests/test_api.py": TESTS,
}
WRITE_ORDER = tuple(FILES)
DOCS: dict[str, str] = {"README.md": README, "API.md": API}
# What each file is stored as.
STORED: dict[str, str] = {**FILES, "app/models.py": MODELS_FORMATTED, **DOCS}
NO_ISSUES = json.dumps({"issues": []})

_ASKED_FOR = re.compile(r"The (?:file|document) to (?:write|fix):\n<<<USER_DATA\npath: (?P<path>[^\n]+)\n")


def reply(text: str, **options: Any) -> Reply:
    """A scripted reply reporting the usage every test counts on."""
    return Reply(text, input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS, **options)


def plan_reply(data: Mapping[str, Any] | None = None, **options: Any) -> Reply:
    return reply(json.dumps(PLAN_REPLY if data is None else data), **options)


def writes(replacing: Mapping[str, str] | None = None, **options: Any) -> list[Reply]:
    """A reply for each file, in the order they are written; `replacing` swaps some."""
    contents = {**FILES, **(replacing or {})}
    return [reply(contents[path], **options) for path in WRITE_ORDER]


def review_and_docs(**options: Any) -> list[Reply]:
    """A review finding nothing, then README.md and API.md."""
    return [reply(NO_ISSUES, **options), *(reply(text, **options) for text in DOCS.values())]


def whole_generation(**options: Any) -> list[Reply]:
    """Every reply of a generation whose files all pass their checks."""
    return [plan_reply(**options), *writes(**options), *review_and_docs(**options)]


def asked_for(request: RecordedRequest) -> str | None:
    """The path of the file (or document) a write, fix or docs request is about."""
    for message in request.body["messages"]:
        if message["role"] == "user":
            found = _ASKED_FOR.search(message["content"])
            if found:
                return found.group("path")
    return None


def user_text(request: RecordedRequest) -> str:
    return "\n".join(message["content"] for message in request.body["messages"] if message["role"] == "user")


def enterprise_model_generation_fields(tenant_users: TenantUsers, **overrides: Any) -> dict[str, Any]:
    """services.generation_create's arguments for a model-mode generation of the fixtures'
    requirements, on a plan without a monthly limit."""
    tenant_users.tenant.plan = "enterprise"
    tenant_users.tenant.save(update_fields=["plan"])
    return {
        "tenant": tenant_users.tenant,
        "actor": tenant_users.member,
        "options": Options(),
        "mode": Generation.Mode.MODEL,
        "requirements": dict(REQUIREMENTS),
        **overrides,
    }


@pytest.fixture
def anthropic(platform: tuple[EmulatorServer, EmulatorServer], tenant_users: TenantUsers) -> EmulatorServer:
    """The tenant's codegen, tests and docs tasks answered by the Anthropic emulator alone."""
    for task in (Task.CODEGEN, Task.DOCS, Task.TESTS):
        provider_services.route_set(
            tenant=tenant_users.tenant, task=task, targets=[{"provider": "anthropic"}]
        )
    return platform[0]
