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
        (
            [field(key="a"), field(key="b", based_on=["zz"])],
            "field “b” is based on “zz”, which is not a field",
        ),
        (
            [field(key="a", based_on=["a"])],
            "field “a” is based on “a”, itself: a field cannot be based on itself",
        ),
        ([field(key="a"), field(key="a", based_on=["a"])], "two fields share the key “a”"),
        ([field(key="a", based_on=["b"]), field(key="b")], "field “a” is based on “b”, a later field"),
        ([field(key="a", based_on=["Bad Key"])], "String should match pattern"),
        (
            [field(key="a", based_on=["b"]), field(key="b", based_on=["a"])],
            "field “a” is in a cycle of dependencies: a depends on b, b depends on a",
        ),
        (
            # Through a condition too: c is asked when b is answered, b is based on a, a on c.
            [
                field(key="a", based_on=["c"]),
                field(key="b", based_on=["a"]),
                field(key="c", depends_on={"field": "b", "op": "answered"}),
            ],
            "field “a” is in a cycle of dependencies: a depends on c, c depends on b, b depends on a",
        ),
        (
            [field(key="a", depends_on={"field": "b"}), field(key="b", depends_on={"field": "a"})],
            "in a cycle",
        ),
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
    assert NETWORK_SERVICE.dependents("service_type") == ["vendor", "vpn_protocols", "features", "api_docs"]
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


def test_dependents_follow_conditions_and_declared_bases_transitively() -> None:
    blueprint = Blueprint.model_validate({
        "name": "x",
        "fields": [
            field(key="a"),
            field(key="b", based_on=["a", "a"]),
            field(key="c", depends_on={"field": "b", "op": "answered"}),
            field(key="d", based_on=["c"]),
            field(key="e"),
            field(key="f", based_on=["e", "b"]),
        ],
    })  # fmt: skip
    assert blueprint.field("b") == BlueprintField.model_validate(field(key="b", based_on=["a"]))
    assert blueprint.dependents("a") == ["b", "c", "d", "f"]
    assert blueprint.dependents("c") == ["d"]
    assert blueprint.dependents("e") == ["f"]
    assert blueprint.dependents("d") == []


def test_the_built_in_blueprints_declare_what_each_answer_is_given_in_the_light_of() -> None:
    # A network function decides the vendors, features and APIs; a vendor decides its APIs;
    # pricing, authentication and logging stand on their own.
    assert NETWORK_SERVICE.dependents("vendor") == ["api_docs"]
    for key in ("features", "pricing_model", "api_docs", "authentication", "logging_monitoring"):
        assert NETWORK_SERVICE.dependents(key) == [], key
    # Whatever names the steps of a process is given in their light.
    assert BUSINESS_PROCESS.dependents("steps") == [
        "integrations", "ai_actions", "human_approvals", "approval_details", "compensation",
    ]  # fmt: skip
    assert BUSINESS_PROCESS.dependents("trigger") == []
    assert BUSINESS_PROCESS.dependents("error_handling") == ["compensation"]


FIREWALL: dict[str, Any] = {
    "service_type": "vFirewall",
    "vendor": "Fortinet",
    "features": ["Stateful filtering", "Intrusion prevention"],
    "pricing_model": "Per user",
    "api_docs": "FortiOS REST API",
    "authentication": "API keys",
    "logging_monitoring": ["Syslog"],
}


def test_a_changed_answer_clears_what_depended_on_it_and_says_what_goes() -> None:
    change = NETWORK_SERVICE.answer_changed(FIREWALL, "service_type", "vRouter")
    assert change.changed
    assert change.asked_again == ["vendor", "features", "api_docs"]
    assert change.removed == []
    assert change.answers == {
        "service_type": "vRouter",
        "pricing_model": "Per user",
        "authentication": "API keys",
        "logging_monitoring": ["Syslog"],
    }
    assert NETWORK_SERVICE.next_field(change.answers) == NETWORK_SERVICE.field("vendor")

    vendor = NETWORK_SERVICE.answer_changed(FIREWALL, "vendor", "Palo Alto Networks")
    assert vendor.asked_again == ["api_docs"]
    kept = {key: value for key, value in FIREWALL.items() if key != "api_docs"}
    assert vendor.answers == {**kept, "vendor": "Palo Alto Networks"}, "the features stand"

    # A field whose condition now fails is removed, not asked again.
    vpn = {**FIREWALL, "service_type": "vVPN", "vpn_protocols": ["WireGuard"]}
    back = NETWORK_SERVICE.answer_changed(vpn, "service_type", "vFirewall")
    assert (back.asked_again, back.removed) == (["vendor", "features", "api_docs"], ["vpn_protocols"])


def test_the_same_answer_again_clears_nothing() -> None:
    for key, value in [
        ("service_type", "vFirewall"),
        ("features", ["Intrusion prevention", "Stateful filtering"]),  # order aside
        ("api_docs", "FortiOS REST API"),
    ]:
        change = NETWORK_SERVICE.answer_changed(FIREWALL, key, value)
        assert not change.changed, key
        assert (change.answers, change.asked_again, change.removed) == (FIREWALL, [], []), key
    assert NETWORK_SERVICE.answer_changed(FIREWALL, "features", ["Stateful filtering"]).changed


def test_a_cleared_answer_that_decided_a_condition_leaves_that_question_to_be_asked_again() -> None:
    answers: dict[str, Any] = {
        "trigger": "A webhook call",
        "steps": "Check the order, approve it, ship it.",
        "integrations": ["SAP"],
        "ai_actions": ["No AI"],
        "human_approvals": True,
        "approval_details": "A manager, within a day.",
        "timeouts_slas": SKIPPED,
        "error_handling": "Undo the completed steps",
        "compensation": "Cancel the shipment.",
    }
    change = BUSINESS_PROCESS.answer_changed(answers, "steps", "Check the order and ship it.")
    assert change.asked_again == [
        "integrations", "ai_actions", "human_approvals", "approval_details", "compensation",
    ]  # fmt: skip
    assert change.removed == [], "approval details are asked again if approvals are needed again"
    assert set(change.answers) == {"trigger", "steps", "timeouts_slas", "error_handling"}
    no_approvals = BUSINESS_PROCESS.answer_changed(answers, "human_approvals", False)
    assert (no_approvals.asked_again, no_approvals.removed) == ([], ["approval_details"])
