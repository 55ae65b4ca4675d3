"""The editor in words, in a real Chromium: inputs added as key/value rows, nodes connected by
dragging one onto another, a decision's branch picked from a list, a long label wrapped, and a
finding that says what to do and leads to its node; at 1280 and 390 pixels wide."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workflow_editor_journey import EditorJourney

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_LABEL = "Approve the big order with the finance team lead"


@pytest.fixture
def editor(people: Any, live_server_url: str) -> EditorJourney:
    journey = EditorJourney(people("newcomer"), live_server_url)
    journey.sign_up("Nia Newcomer", "nia@example.com", "Word Works")
    return journey


def test_connect_by_dragging_pick_a_branch_and_fill_inputs_as_rows(editor: EditorJourney) -> None:
    page = editor.page
    editor.create_workflow("Orders in words")
    editor.add_variable("order_id", "string")
    editor.add_variable("amount", "number")

    # Inputs as rows: add two, add a third and remove it again; nothing is JSON.
    form = editor.open_node_form("activity")
    expect(form.get_by_text("JSON")).to_have_count(0)
    form.get_by_label("Activity name").fill("ReceiveOrder")
    form.get_by_label("Input name, row 1").fill("order")
    form.get_by_label("Value, row 1").fill("{{order_id}}")
    form.get_by_test_id("kv-add-input_mapping").click()
    expect(form.get_by_label("Input name, row 2")).to_be_focused()
    page.keyboard.type("channel")
    form.get_by_label("Value, row 2").fill("web")
    form.get_by_test_id("kv-add-input_mapping").click()
    form.get_by_label("Input name, row 3").fill("mistake")
    form.get_by_role("button", name="Remove row 3").click()
    expect(form.get_by_label("Input name, row 3")).to_have_count(0)
    editor.session.shot("01-input-rows-1280")
    editor.save_node(form, "receive", "Receive order", timeout="30")

    # The rows come back as saved, with one blank row to fill.
    editor.node("receive").click()
    form = page.get_by_test_id("node-form")
    expect(form.get_by_label("Input name, row 1")).to_have_value("order")
    expect(form.get_by_label("Value, row 2")).to_have_value("web")
    expect(form.get_by_label("Input name, row 3")).to_have_value("")
    page.get_by_test_id("panel-back").click()

    editor.add_decision(
        "route",
        "Big order?",
        [("big", "amount > 1000", "Large"), ("small", "amount <= 1000", "Small")],
        default="small",
    )
    # The decision's default is chosen from its branches, by their labels, not typed as an id.
    editor.node("route").click()
    default = page.get_by_test_id("node-form").get_by_label("When no branch holds")
    expect(default).to_have_value("small")
    expect(default.locator("option")).to_have_text(
        [
            "None: the edge without a branch",
            "The “Large” branch",
            "The “Small” branch",
            "Go to “Receive order”",
        ]
    )
    editor.session.shot("02-decision-default-from-a-list-1280")
    page.get_by_test_id("panel-back").click()
    editor.add_activity("approve", LONG_LABEL, "ApproveOrder")
    editor.add_activity("ship", "Ship order", "ShipOrder")

    # The long label is wrapped onto lines in its box, every word of it drawn.
    lines = editor.node("approve").locator("text.node-label tspan")
    expect(lines).to_have_count(3)
    assert " ".join(lines.all_text_contents()) == LONG_LABEL

    # A node not connected yet (it would start on its own): the finding says so in words, and
    # what to do.
    loose = editor.findings().locator('[data-code="isolated_node"][data-node-id="ship"]')
    expect(loose).to_contain_text("“Ship order” is not connected.")
    expect(loose).to_contain_text("otherwise remove it")

    # Connect by dragging: receive onto route.
    editor.node("receive").drag_to(editor.node("route"))
    editor.notice("Connected “Receive order” to “Big order?”.")
    expect(editor.edge("receive_to_route")).to_be_visible()

    # Out of a decision, the drop asks which branch, from a list of the decision's branches.
    editor.node("route").drag_to(editor.node("approve"))
    editor.notice("Which branch of “Big order?” leads to “" + LONG_LABEL + "”?")
    edge_form = page.get_by_test_id("edge-form")
    branch = edge_form.get_by_label("Branch", exact=True)
    expect(branch.locator("option")).to_have_text(["— none —", "Large", "Small"])
    expect(edge_form.get_by_label("From")).to_have_value("route")
    expect(edge_form.get_by_label("To", exact=True)).to_have_value("approve")
    branch.select_option(label="Large")
    editor.session.shot("03-branch-from-a-list-1280")
    edge_form.get_by_test_id("save-edge").click()
    editor.notice(f"Connected “Big order?” to “{LONG_LABEL}”.")
    expect(editor.edge("route_to_approve")).to_contain_text("Large")

    # Choosing another From in the form shows that node's branches, or none.
    editor.panel().get_by_test_id("add-edge").click()
    edge_form = page.get_by_test_id("edge-form")
    expect(edge_form.get_by_label("Branch", exact=True)).to_be_hidden()
    edge_form.get_by_label("From").select_option("route")
    expect(edge_form.get_by_label("Branch", exact=True).locator("option")).to_have_text(
        ["— none —", "Large", "Small"]
    )
    edge_form.get_by_label("From").select_option("approve")
    expect(edge_form.get_by_label("Branch", exact=True)).to_be_hidden()
    page.get_by_test_id("panel-back").click()

    # The finding's link selects the node it is about; its other link connects it.
    editor.findings().get_by_test_id("finding-node-ship").click()
    expect(editor.node("ship")).to_have_class(re.compile(r"(^|\s)is-selected(\s|$)"))
    expect(editor.panel().get_by_role("heading", name="Ship order")).to_be_visible()
    editor.session.shot("04-finding-selects-its-node-1280")
    editor.node("route").drag_to(editor.node("ship"))
    page.get_by_test_id("edge-form").get_by_label("Branch", exact=True).select_option("small")
    # A plain label, without a condition, is taken as it is.
    page.get_by_test_id("edge-form").get_by_label("Label", exact=True).fill("the rest")
    page.get_by_test_id("save-edge").click()
    editor.notice("Connected “Big order?” to “Ship order”.")
    expect(editor.edge("route_to_ship")).to_contain_text("the rest")
    editor.expect_no_findings()
    editor.session.shot("05-connected-1280")

    # The same page on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    editor.session.shot("06-connected-390")
    editor.node("receive").click()
    expect(page.get_by_test_id("node-form").get_by_label("Input name, row 1")).to_have_value("order")
    page.get_by_test_id("node-form").scroll_into_view_if_needed()
    editor.session.shot("07-input-rows-390")
