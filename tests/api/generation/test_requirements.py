"""Seed 002's flat requirements as the interview's download format codegen reads."""

from __future__ import annotations

from api.generation.requirements import requirements_document, target_key


def test_each_key_becomes_a_labelled_requirement_and_the_service_type_names_it() -> None:
    document = requirements_document(
        {"service_type": "vRouter", "auth-method": "OAuth2", "api": {"docs": 1}}, title=None
    )
    assert document == {
        "title": "vRouter service",
        "blueprint": "",
        "requirements": {
            "service_type": {"label": "Service type", "value": "vRouter"},
            "auth-method": {"label": "Auth method", "value": "OAuth2"},
            "api": {"label": "Api", "value": {"docs": 1}},
        },
    }


def test_without_a_service_type_or_title_the_name_is_generic() -> None:
    assert requirements_document({"vendor": "Cisco"}, title=None)["title"] == "Generated service"
    assert requirements_document({"service_type": 7}, title=None)["title"] == "Generated service"
    assert requirements_document({"vendor": "Cisco"}, title="Edge")["title"] == "Edge"


def test_the_target_is_named_or_made_of_language_and_framework() -> None:
    assert target_key(language="Python", framework="FastAPI", target=None) == "python-fastapi"
    assert target_key(language="python", framework="fastapi", target=" Go-Gin ") == "go-gin"
