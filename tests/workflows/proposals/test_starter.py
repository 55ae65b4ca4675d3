"""The starter workflow: built from a blueprint's answers without a model, deterministic, valid."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.blueprints.builtin import BUILTIN, BUSINESS_PROCESS, NETWORK_SERVICE
from conversations.blueprints.schema import SKIPPED, Blueprint, BlueprintField, FieldType, clean_text
from tests.workflows import samples
from tests.workflows.proposal_fixtures import ANSWERS
from workflows.analysis.validation import validate_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.proposals.starter import split_steps, starter_document, starter_workflow

IDENTITY = {
    "id": samples.WORKFLOW_ID,
    "name": "Order fulfilment",
    "tenant_id": samples.TENANT_ID,
    "version": 1,
}

NETWORK_ANSWERS: dict[str, Any] = {
    "service_type": "vVPN",
    "vendor": "Fortinet",
    "vpn_protocols": ["WireGuard", "IPsec IKEv2"],
    "features": ["Stateful filtering", "NAT"],
    "pricing_model": "Per instance per month",
    "api_docs": "FortiOS REST API, https://docs.fortinet.test/api",
    "authentication": "API keys",
    "logging_monitoring": ["Syslog", "Prometheus metrics"],
}
BUSINESS_ANSWERS: dict[str, Any] = {
    **ANSWERS,
    "human_approvals": True,
    "approval_details": "A manager approves orders over 1000 EUR within a day.",
    "error_handling": "Undo the completed steps",
    "compensation": "Refund the card.",
}
REPRESENTATIVE = {"network-service": NETWORK_ANSWERS, "business-process": BUSINESS_ANSWERS}


def build(blueprint: Blueprint, answers: dict[str, Any]) -> tuple[WorkflowDocument, list[str]]:
    document, findings = starter_workflow(
        blueprint=blueprint, answers=answers, identity=IDENTITY, known_workflow_ids=samples.KNOWN_WORKFLOW_IDS
    )
    return document, [
        f"{finding.code}: {finding.message}" for finding in findings if finding.severity == "error"
    ]


def labels(document: WorkflowDocument) -> list[str]:
    return [node["label"] for node in document["nodes"]]


def nodes_by_label(document: WorkflowDocument) -> dict[str, dict[str, Any]]:
    return {node["label"]: node for node in document["nodes"]}


@pytest.mark.parametrize("key", sorted(BUILTIN))
def test_every_built_in_blueprint_gives_a_valid_starter(key: str) -> None:
    assert set(REPRESENTATIVE) == set(BUILTIN), "representative answers for every built-in blueprint"
    document, errors = build(BUILTIN[key], REPRESENTATIVE[key])

    assert errors == []
    assert {field: document[field] for field in IDENTITY} == IDENTITY
    assert labels(document)[0].startswith("Start: ")
    assert labels(document)[-1] == "Finish: report the outcome"


@pytest.mark.parametrize("key", sorted(BUILTIN))
def test_the_same_answers_give_the_same_document(key: str) -> None:
    reordered = dict(reversed(list(REPRESENTATIVE[key].items())))

    first = starter_document(blueprint=BUILTIN[key], answers=REPRESENTATIVE[key], identity=IDENTITY)
    again = starter_document(blueprint=BUILTIN[key], answers=reordered, identity=IDENTITY)

    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_a_business_process_reads_as_its_answers() -> None:
    document, _ = build(BUSINESS_PROCESS, BUSINESS_ANSWERS)

    assert labels(document) == [
        "Start: A webhook call",
        "Check the order's stock",
        "Charge the card",
        "Send a confirmation email",
        "Integrations: Salesforce",
        "Integrations: Email",
        "AI actions: Summarize",
        "Ask for approval",
        "Approved?",
        "Stop: tell the requester it was not approved",
        "Finish: report the outcome",
    ]
    by_label = nodes_by_label(document)
    assert by_label["AI actions: Summarize"]["node_type"] == "ai_action"
    approval = by_label["Ask for approval"]
    assert approval["node_type"] == "human_task"
    assert approval["config"]["description"] == BUSINESS_ANSWERS["approval_details"]
    decision = by_label["Approved?"]
    assert decision["node_type"] == "decision"
    out_of_decision = {edge["target"] for edge in document["edges"] if edge["source"] == decision["id"]}
    assert out_of_decision == {
        by_label["Finish: report the outcome"]["id"],
        by_label[labels(document)[-2]]["id"],
    }
    assert document["triggers"] == [{"trigger_type": "webhook", "config": {}}]
    assert document["error_policy"]["on_error"] == "compensate"
    variables = {variable["name"]: variable["default_value"] for variable in document["variables"]}
    assert variables == {
        "timeouts_slas": "Orders are confirmed within an hour.",
        "compensation": "Refund the card.",
    }


def test_a_network_service_has_a_step_per_feature_and_its_choices_as_variables() -> None:
    document, _ = build(NETWORK_SERVICE, NETWORK_ANSWERS)

    assert labels(document) == [
        "Start: receive the request",
        "VPN protocols: WireGuard",
        "VPN protocols: IPsec IKEv2",
        "Features: Stateful filtering",
        "Features: NAT",
        "Logging and monitoring: Syslog",
        "Logging and monitoring: Prometheus metrics",
        "Finish: report the outcome",
    ]
    variables = {variable["name"]: variable["default_value"] for variable in document["variables"]}
    assert variables["vendor"] == "Fortinet"
    assert variables["pricing_model"] == "Per instance per month"
    start = document["nodes"][0]
    assert start["config"]["input_mapping"]["vendor"] == "{{vendor}}", "the start node takes the choices in"


def test_no_ai_no_approval_and_retrying_are_read_as_such() -> None:
    answers = {
        **ANSWERS,
        "ai_actions": ["No AI"],
        "human_approvals": False,
        "error_handling": "Retry, then alert",
    }

    document, errors = build(BUSINESS_PROCESS, answers)

    assert errors == []
    assert not any(node["node_type"] in ("ai_action", "human_task", "decision") for node in document["nodes"])
    assert document["error_policy"]["on_error"] == "retry"
    assert all(
        node["retry_policy"] is not None for node in document["nodes"] if node["node_type"] == "activity"
    )


def test_skipped_answers_and_fields_that_no_longer_apply_add_nothing() -> None:
    answers = {**BUSINESS_ANSWERS, "timeouts_slas": SKIPPED, "human_approvals": False}

    document, errors = build(BUSINESS_PROCESS, answers)

    assert errors == []
    names = {variable["name"] for variable in document["variables"]}
    assert "timeouts_slas" not in names
    assert "approval_details" not in json.dumps(document)
    assert "A manager approves" not in json.dumps(document)


def test_steps_are_read_from_lines_bullets_sentences_and_thens() -> None:
    text = "1. Receive the claim\n- check the policy; assess the damage, then pay.\nClose it. Archive it!"

    assert split_steps(text) == [
        "Receive the claim",
        "Check the policy",
        "Assess the damage",
        "Pay",
        "Close it",
        "Archive it",
    ]


def test_text_that_looks_like_a_template_stays_text() -> None:
    answers = {
        **BUSINESS_ANSWERS,
        "steps": "Read {{secret}} then post it to {{webhook.url",
        "approval_details": "Ask {{manager}}",
        "ai_actions": ["Summarize"],
    }

    document, errors = build(BUSINESS_PROCESS, answers)

    assert errors == []
    approval = nodes_by_label(document)["Ask for approval"]
    assert approval["config"]["description"] == "Ask ((manager))"


# --- Varied answers --------------------------------------------------------------------------


def answer_for(field: BlueprintField) -> st.SearchStrategy[Any]:
    if field.type is FieldType.SINGLE_SELECT:
        return st.sampled_from(field.options)
    if field.type is FieldType.MULTI_SELECT:
        return st.lists(st.sampled_from(field.options), min_size=1, max_size=len(field.options), unique=True)
    if field.type is FieldType.BOOLEAN:
        return st.booleans()
    if field.type is FieldType.NUMBER:
        return st.integers(min_value=0, max_value=10**6)
    text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=300)
    # As the interview stores free text: cleaned, never empty.
    return text.filter(lambda value: bool(clean_text(value))).map(field.accepts)


def answers_for(blueprint: Blueprint) -> st.SearchStrategy[dict[str, Any]]:
    def skippable(field: BlueprintField) -> st.SearchStrategy[Any]:
        given_answer = answer_for(field)
        return given_answer if field.required else st.one_of(given_answer, st.just(SKIPPED))

    return st.fixed_dictionaries({field.key: skippable(field) for field in blueprint.fields})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data(), key=st.sampled_from(sorted(BUILTIN)))
def test_any_answers_to_a_built_in_blueprint_give_a_valid_deterministic_starter(
    data: st.DataObject, key: str
) -> None:
    blueprint = BUILTIN[key]
    answers = blueprint.prune(data.draw(answers_for(blueprint)))

    document, errors = build(blueprint, answers)

    assert errors == []
    assert starter_document(blueprint=blueprint, answers=answers, identity=IDENTITY) == starter_document(
        blueprint=blueprint, answers=dict(answers), identity=IDENTITY
    )
    assert validate_workflow(document, known_workflow_ids=()).is_valid
