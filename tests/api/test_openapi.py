"""The public API's OpenAPI document: valid OpenAPI 3.1, covering every route, each described."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern
from openapi_spec_validator import validate

from api.public_api import public_api

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
# The document itself, its docs page, and Ninja's root view (shadowed by the portal's home).
NOT_OPERATIONS = {"openapi-json", "openapi-view", "api-root"}


def _document() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _routes() -> set[str]:
    patterns, _app, _namespace = public_api.urls
    routes = set()
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name not in NOT_OPERATIONS:
            routes.add("/" + PARAMETER.sub(r"{\1}", str(pattern.pattern)))
    return routes


def test_the_document_is_valid_openapi_3_1() -> None:
    document = _document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_in_the_document() -> None:
    paths = set(_document()["paths"])
    assert _routes() <= paths, sorted(_routes() - paths)
    assert paths <= _routes(), sorted(paths - _routes())


def test_every_operation_is_described() -> None:
    undescribed = []
    for path, operations in _document()["paths"].items():
        for method, operation in operations.items():
            if not operation.get("summary") or not operation.get("responses"):
                undescribed.append(f"{method.upper()} {path}")
    assert not undescribed


@pytest.mark.parametrize("path", ["/api/v1/docs"])
def test_the_docs_page_loads_its_assets_from_us(path: str) -> None:
    page = Client().get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_the_readme_lists_every_operation() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Public API") : readme.index("## Production deployment")]
    missing = [
        f"{method.upper()} {path}"
        for path, operations in _document()["paths"].items()
        for method in operations
        if f"`{method.upper()} {path}`" not in section
    ]
    assert not missing
