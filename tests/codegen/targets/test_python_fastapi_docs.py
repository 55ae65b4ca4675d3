"""README.md and API.md: written from the final files, so they follow changes to the code."""

from __future__ import annotations

from codegen.targets import target_for
from codegen.targets.python_fastapi.docs import api_endpoints
from tests.codegen.targets.projects import render_project
from tests.codegen.targets.specs import hostile_spec, workflow_spec

EXTRA_ENDPOINT = '''

@app.delete("/requests/{request_id}", status_code=204, responses={404: {"model": schemas.ErrorResponse}})
def cancel_request(request_id: int, reason: str, manager: Manager) -> None:
    """Cancel a request.

    Its activities stop.
    """
'''


def test_api_md_lists_the_endpoints_of_the_final_main_module() -> None:
    spec = workflow_spec()
    plan, files = render_project(spec)
    api = files["API.md"]
    for endpoint in plan.endpoints:
        assert f"| {endpoint.method} | `{endpoint.path}` |" in api
    assert "- Request body: `schemas.ServiceRequestCreate`" in api
    assert "  - `order_id: str`" in api
    assert "- Response: 201, `schemas.ServiceRequestRead`" in api
    assert "- Parameter: `request_id: int (path)`" in api
    assert "- Error: 501 (the vendor integration is not connected yet)" in api

    files["app/main.py"] += EXTRA_ENDPOINT
    changed = target_for("python-fastapi").render_docs(spec, plan, files)["API.md"]
    assert "| DELETE | `/requests/{request_id}` | Cancel a request. |" in changed
    assert "- Parameter: `reason: str (query)`" in changed
    assert "- Response: 204, `None`" in changed
    assert "Its activities stop." in changed


def test_api_md_says_so_when_main_does_not_parse() -> None:
    spec = workflow_spec()
    plan, files = render_project(spec)
    files["app/main.py"] = "def broken(:\n"
    api = target_for("python-fastapi").render_docs(spec, plan, files)["API.md"]
    assert "could not be read as Python" in api


def test_endpoints_are_read_from_router_decorators_too() -> None:
    source = '''
from fastapi import APIRouter

router = APIRouter()
ERRORS = {404: {}}


@router.patch("/items/{item_id}", responses={**ERRORS, 409: {}})
async def update_item(item_id: int, body: ItemUpdate) -> Item:
    """Change an item."""
'''
    (endpoint,) = api_endpoints(source, models={"ItemUpdate", "Item"})
    assert (endpoint.method, endpoint.path, endpoint.function) == ("PATCH", "/items/{item_id}", "update_item")
    assert endpoint.request_model == "ItemUpdate"
    assert endpoint.response_model == "Item"
    assert endpoint.parameters == ("item_id: int (path)",)
    assert endpoint.error_codes == ("404", "409")


def test_readme_tells_what_the_service_does_and_what_to_implement() -> None:
    _plan, files = render_project(workflow_spec())
    readme = files["README.md"]
    assert readme.startswith("# Managed vFirewall\n")
    assert "| Features | Stateful filtering, NAT, High availability |" in readme
    assert "| ValidateOrder | `validate_order` | `POST /activities/validate_order` |" in readme
    assert "workflow/workflow.go" in readme
    assert "python -m pytest -q" in readme
    assert "docker compose up --build" in readme


def test_hostile_text_in_the_docs_is_shown_not_interpreted() -> None:
    _plan, files = render_project(hostile_spec())
    for path in ("README.md", "API.md"):
        text = files[path]
        assert "<script>" not in text
        assert "\u202e" not in text
    readme = files["README.md"]
    assert "{{ secret }}" in readme  # Jinja syntax in a requirement is text, never evaluated
    assert "The workflow did not compile" in readme
    # Every row of each table has its header's columns: no text broke out of its cell.
    tables: list[list[int]] = [[]]
    for line in readme.splitlines():
        if line.startswith("| "):
            tables[-1].append(line.count("|") - line.count("\\|"))
        elif tables[-1]:
            tables.append([])
    assert all(len(set(table)) == 1 for table in tables if table)
    assert len([table for table in tables if table]) == 3
