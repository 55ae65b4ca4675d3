from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from conversations.blueprints.builtin import BUSINESS_PROCESS, NETWORK_SERVICE
from conversations.blueprints.schema import (
    SKIPPED,
    Blueprint,
    BlueprintField,
    FieldType,
    InvalidAnswer,
    normalize_options,
)


def field(**values: Any) -> dict[str, Any]:
    return {"key": "k", "label": "K", "question": "Q?", "type": "free_text", **values}


def test_the_built_in_blueprints_are_valid_and_follow_the_seeds() -> None:
    assert [f.key for f in NETWORK_SERVICE.fields] == [
        "service_type", "vendor", "vpn_protocols", "features", "pricing_model", "api_docs", "authentication",
        "logging_monitoring",
    ]  # fmt: skip
    integrations = BUSINESS_PROCESS.field("integrations")
    assert integrations is not None
    assert "n8n workflows" in integrations.options
    assert Blueprint.model_validate(NETWORK_SERVICE.model_dump(mode="json")) == NETWORK_SERVICE


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([field(), field()], "two fields share the key"),
        ([field(key="a"), field(key="b", depends_on={"field": "c"})], "not an earlier field"),
        ([field(key="a", depends_on={"field": "b"}), field(key="b")], "not an earlier field"),
        ([field(type="single_select")], "needs options"),
        ([field(type="multi_select", options=["x", "X"])], "distinct"),
        ([field(options=["x"])], "only select fields have options"),
        ([field(key="Bad Key")], "String should match pattern"),
        ([], "at least 1 item"),
    ],
)
def test_invalid_blueprints_are_refused(fields: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Blueprint.model_validate({"name": "x", "fields": fields})


def test_values_are_checked_by_type() -> None:
    select = BlueprintField(
        key="s", label="S", question="?", type=FieldType.SINGLE_SELECT, options=["Cisco", "F5"]
    )
    assert select.accepts("cisco") == "Cisco"
    assert select.accepts(["F5"]) == "F5"
    with pytest.raises(InvalidAnswer, match="not one of the options"):
        select.accepts("Juniper")
    assert select.accepts("Juniper", offered=["Juniper"]) == "Juniper"
    multi = BlueprintField(
        key="m", label="M", question="?", type=FieldType.MULTI_SELECT, options=["A", "B", "C"]
    )
    assert multi.accepts("a, c; a") == ["A", "C"]
    assert multi.accepts(["B"]) == ["B"]
    with pytest.raises(InvalidAnswer):
        multi.accepts([])
    number = BlueprintField(
        key="n", label="N", question="?", type=FieldType.NUMBER, min_value=1, max_value=10
    )
    assert number.accepts(" 7 ") == 7
    assert number.accepts("2,5") == 2.5
    with pytest.raises(InvalidAnswer, match="at most 10"):
        number.accepts(11)
    with pytest.raises(InvalidAnswer):
        number.accepts(True)
    boolean = BlueprintField(key="b", label="B", question="?", type=FieldType.BOOLEAN)
    assert boolean.accepts("Yes.") is True
    assert boolean.accepts("no") is False
    with pytest.raises(InvalidAnswer):
        boolean.accepts("maybe")
    text = BlueprintField(key="t", label="T", question="?", type=FieldType.FREE_TEXT, max_length=5)
    assert text.accepts("  hi\u202e ") == "hi"
    with pytest.raises(InvalidAnswer, match="at most 5"):
        text.accepts("toolong")
    with pytest.raises(InvalidAnswer, match="required"):
        text.accepts(SKIPPED)
    optional = BlueprintField(key="o", label="O", question="?", type=FieldType.FREE_TEXT, required=False)
    assert optional.accepts(SKIPPED) == SKIPPED


def next_key(answers: dict[str, Any]) -> str | None:
    upcoming = NETWORK_SERVICE.next_field(answers)
    return upcoming.key if upcoming else None


def test_the_next_field_follows_conditions_and_edits_prune_what_depended() -> None:
    answers: dict[str, Any] = {"service_type": "vFirewall"}
    assert next_key(answers) == "vendor"
    answers["vendor"] = "Cisco"
    assert next_key(answers) == "features"
    vpn = {"service_type": "vVPN", "vendor": "Cisco"}
    assert next_key(vpn) == "vpn_protocols"
    assert NETWORK_SERVICE.dependents("service_type") == ["vpn_protocols"]
    pruned = NETWORK_SERVICE.prune({"service_type": "vRouter", "vpn_protocols": ["WireGuard"]})
    assert pruned == {"service_type": "vRouter"}
    assert len(NETWORK_SERVICE.applicable(vpn)) == 8
    assert len(NETWORK_SERVICE.applicable({"service_type": "vRouter"})) == 7


def test_suggested_options_are_cleaned_and_capped() -> None:
    options = normalize_options(["A", " a ", "", 3, "x" * 81, *[f"o{i}" for i in range(20)], "<b>ok</b>"])
    assert options[:2] == ["A", "o0"]
    assert len(options) == 8


def test_the_extraction_schema_lists_every_field_and_nothing_else() -> None:
    schema = NETWORK_SERVICE.extraction_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {f.key for f in NETWORK_SERVICE.fields}
    assert schema["properties"]["features"]["type"] == "array"
