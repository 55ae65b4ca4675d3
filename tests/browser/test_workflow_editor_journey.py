"""Build a workflow in the editor with a decision and a parallel block, add an edge that loops
back, see the cycle on the right nodes, remove it: in a real Chromium against daphne.

The steps are helpers on `EditorJourney`, so later journeys (publish, diff, compile,
download) can start from the workflow this one builds.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


class EditorJourney:
    """One person in the workflow editor, driven through its forms and its graph."""

    def __init__(self, session: Any, live_server_url: str) -> None:
        self.session = session
        self.page: Page = session.page
        self.base = live_server_url
        # Deleting asks for confirmation (hx-confirm): this person always says yes.
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.labels: dict[str, str] = {}  # node id -> label, as the page names the nodes

    def sign_up(self, name: str, email: str, organization: str) -> None:
        page = self.page
        page.goto("/accounts/signup/")
        page.get_by_label("Your name").fill(name)
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Organization name").fill(organization)
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name=organization)).to_be_visible()

    def create_workflow(self, name: str) -> None:
        page = self.page
        page.get_by_role("navigation", name="Sections").get_by_role("link", name="Workflows").click()
        expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()
        page.get_by_test_id("new-workflow").click()
        page.get_by_label("Name").fill(name)
        page.get_by_test_id("create-workflow").click()
        expect(page.get_by_test_id("workflow-name")).to_have_text(name)
        expect(page.get_by_test_id("graph-empty")).to_be_visible()

    def panel(self) -> Locator:
        return self.page.get_by_test_id("side-panel")

    def notice(self, text: str) -> None:
        expect(self.page.get_by_test_id("editor-notice")).to_contain_text(text)

    def add_variable(self, name: str, variable_type: str, *, required: bool = True) -> None:
        self.panel().get_by_test_id("add-variable").click()
        form = self.page.get_by_test_id("variable-form")
        form.get_by_label("Name").fill(name)
        form.get_by_label("Type").select_option(variable_type)
        if required:
            form.get_by_label("Required").check()
        form.get_by_test_id("save-variable").click()
        self.notice(f"Added variable {name}")

    def open_node_form(self, node_type: str) -> Locator:
        self.panel().get_by_test_id(f"palette-{node_type}").click()
        form = self.page.get_by_test_id("node-form")
        expect(form).to_have_attribute("data-node-type", node_type)
        return form

    def save_node(self, form: Locator, node_id: str, label: str, timeout: str = "") -> None:
        form.get_by_label("Id", exact=True).fill(node_id)
        form.get_by_label("Label", exact=True).fill(label)
        if timeout:
            form.get_by_label("Node timeout (seconds)").fill(timeout)
        form.get_by_test_id("save-node").click()
        self.notice(f"Added node “{label}”.")
        self.labels[node_id] = label
        expect(self.node(node_id)).to_be_visible()

    def add_activity(self, node_id: str, label: str, activity_name: str) -> None:
        form = self.open_node_form("activity")
        form.get_by_label("Activity name").fill(activity_name)
        self.save_node(form, node_id, label, timeout="30")

    def add_decision(
        self, node_id: str, label: str, branches: list[tuple[str, str, str]], default: str
    ) -> None:
        form = self.open_node_form("decision")
        rows = form.get_by_test_id("branch-row")
        for index, (branch_id, condition, branch_label) in enumerate(branches):
            row = rows.nth(index)
            row.get_by_label("Branch id").fill(branch_id)
            row.get_by_label("Branch condition").fill(condition)
            row.get_by_label("Branch label").fill(branch_label)
        # The list follows the branch rows as they are typed.
        form.get_by_label("When no branch holds").select_option(default)
        self.save_node(form, node_id, label)

    def add_human_task(self, node_id: str, label: str, title: str) -> None:
        form = self.open_node_form("human_task")
        form.get_by_label("Task type").fill("approval")
        form.get_by_label("Title", exact=True).fill(title)
        form.get_by_label("Task timeout (seconds)").fill("86400")
        self.save_node(form, node_id, label, timeout="90000")

    def add_parallel(self, node_id: str, label: str, branch_labels: list[str]) -> None:
        form = self.open_node_form("parallel")
        for branch in branch_labels:
            form.get_by_label(branch).check()
        expect(form.get_by_label("Wait for all branches")).to_be_checked()
        self.save_node(form, node_id, label)

    def add_edge(
        self, source: str, target: str, *, handle: str = "", condition: str = "", label: str = ""
    ) -> str:
        """Add an edge through the form; its id (made from the nodes' ids)."""
        self.panel().get_by_test_id("add-edge").click()
        form = self.page.get_by_test_id("edge-form")
        form.get_by_label("From").select_option(source)
        form.get_by_label("To", exact=True).select_option(target)
        if handle:
            # Choosing a decision as From shows its branches to choose from.
            form.get_by_label("Branch", exact=True).select_option(handle)
        if condition:
            form.get_by_label("Condition", exact=True).fill(condition)
        if label:
            form.get_by_label("Label", exact=True).fill(label)
        form.get_by_test_id("save-edge").click()
        edge_id = f"{source}_to_{target}"
        self.notice(f"Connected {self.ends(source, target)}.")
        return edge_id

    def ends(self, source: str, target: str) -> str:
        return f"“{self.labels[source]}” to “{self.labels[target]}”"

    def node(self, node_id: str) -> Locator:
        return self.page.get_by_test_id(f"node-{node_id}")

    def edge(self, edge_id: str) -> Locator:
        return self.page.get_by_test_id(f"edge-{edge_id}")

    def findings(self) -> Locator:
        return self.page.get_by_test_id("findings-panel")

    def expect_no_findings(self) -> None:
        expect(self.findings()).to_have_attribute("data-errors", "0")
        expect(self.findings()).to_have_attribute("data-warnings", "0")
        expect(self.page.get_by_test_id("findings-summary")).to_contain_text("No problems found")

    def expect_cycle_through(self, in_cycle: list[str], outside: list[str]) -> None:
        cycle = self.findings().locator('[data-code="cyclic_graph"]')
        expect(cycle).to_have_count(1)
        for node_id in in_cycle:
            expect(self.node(node_id)).to_have_attribute("data-state", "error")
            expect(self.node(node_id)).to_have_class(_has_class("in-cycle"))
            expect(cycle.get_by_test_id(f"finding-node-{node_id}")).to_be_visible()
        for node_id in outside:
            expect(self.node(node_id)).to_have_attribute("data-state", "ok")

    def build_order_approval(self) -> None:
        """Order approval: receive, then big orders need a person's approval, then notify and
        ship at the same time, then finish. Valid: no errors, no warnings."""
        self.add_variable("amount", "number")
        self.add_activity("receive", "Receive order", "ReceiveOrder")
        self.add_human_task("approve", "Approve big order", "Approve the order")
        self.add_activity("notify", "Notify customer", "NotifyCustomer")
        self.add_activity("ship", "Ship order", "ShipOrder")
        self.add_activity("finish", "Finish", "CloseOrder")
        self.add_decision(
            "route",
            "Big order?",
            [("big", "amount > 1000", "Large"), ("small", "amount <= 1000", "Small")],
            default="small",
        )
        self.add_parallel("fan_out", "Notify and ship", ["Notify customer", "Ship order"])
        self.add_edge("receive", "route")
        self.add_edge("route", "approve", handle="big")
        self.add_edge("route", "fan_out", handle="small")
        self.add_edge("approve", "fan_out")
        self.add_edge("fan_out", "notify")
        self.add_edge("fan_out", "ship")
        self.add_edge("notify", "finish")
        self.add_edge("ship", "finish")
        expect(self.edge("route_to_approve")).to_contain_text("Large")

    def loop_back_and_untangle(self) -> None:
        """On the order approval: an edge from notify back to fan_out shows the cycle on
        exactly those two nodes; deleting it from the graph clears the findings."""
        back = self.add_edge("notify", "fan_out", condition="amount > 0", label="again")
        expect(self.edge(back)).to_have_class(_has_class("back-edge"))
        self.expect_cycle_through(
            in_cycle=["notify", "fan_out"], outside=["receive", "route", "approve", "ship", "finish"]
        )
        self.edge(back).locator("text.edge-label").click()
        expect(self.page.get_by_test_id("edge-form")).to_be_visible()
        self.panel().get_by_test_id("delete-edge").click()
        self.notice(f"Deleted the edge from {self.ends('notify', 'fan_out')}.")
        expect(self.edge(back)).to_have_count(0)
        self.expect_no_findings()


def _has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


@pytest.fixture
def editor(people: Any, live_server_url: str) -> EditorJourney:
    journey = EditorJourney(people("builder"), live_server_url)
    journey.sign_up("Bea Builder", "bea@example.com", "Flow Works")
    return journey


def test_build_a_workflow_loop_it_back_and_untangle_it(editor: EditorJourney) -> None:
    editor.create_workflow("Order approval")
    editor.build_order_approval()
    editor.expect_no_findings()
    editor.session.shot("01-built")

    back = editor.add_edge("notify", "fan_out", condition="amount > 0", label="again")
    expect(editor.edge(back)).to_have_class(_has_class("back-edge"))
    editor.expect_cycle_through(
        in_cycle=["notify", "fan_out"], outside=["receive", "route", "approve", "ship", "finish"]
    )
    editor.session.shot("02-cycle")

    # The finding links to the nodes on the loop; the graph opens the node's form on a click.
    editor.findings().get_by_test_id("finding-node-fan_out").click()
    expect(editor.page.get_by_test_id("node-form")).to_have_attribute("data-node-type", "parallel")
    expect(editor.node("fan_out")).to_have_class(_has_class("is-selected"))
    editor.node("notify").click()
    expect(editor.page.get_by_test_id("node-form")).to_have_attribute("data-node-type", "activity")
    expect(editor.panel().get_by_test_id("element-findings")).to_contain_text("cyclic_graph")
    # The graph works from the keyboard too. The click re-renders the graph (the selection is
    # drawn server-side): focus a node of the new graph, not of the one being replaced.
    expect(editor.node("notify")).to_have_class(_has_class("is-selected"))
    editor.node("ship").focus()
    expect(editor.node("ship")).to_be_focused()
    editor.page.keyboard.press("Enter")
    expect(editor.panel().get_by_role("heading", name="Ship order")).to_be_visible()
    expect(editor.panel().get_by_test_id("node-kind")).to_have_text("Activity node · id ship")
    expect(editor.node("ship")).to_have_class(_has_class("is-selected"))

    # Remove the loop from the graph: open the back edge by its label and delete it.
    editor.edge(back).locator("text.edge-label").click()
    expect(editor.page.get_by_test_id("edge-form")).to_be_visible()
    editor.panel().get_by_test_id("delete-edge").click()
    editor.notice(f"Deleted the edge from {editor.ends('notify', 'fan_out')}.")
    expect(editor.edge(back)).to_have_count(0)
    editor.expect_no_findings()

    # Undo brings the loop back; undoing again takes it away once more.
    editor.page.get_by_test_id("undo-button").click()
    editor.notice(f"Undone: Deleted the edge from {editor.ends('notify', 'fan_out')}.")
    editor.expect_cycle_through(in_cycle=["notify", "fan_out"], outside=["receive", "finish"])
    editor.page.get_by_test_id("undo-button").click()
    editor.notice(f"Undone: Connected {editor.ends('notify', 'fan_out')}.")
    editor.expect_no_findings()
    editor.session.shot("03-untangled")

    # A reload shows the same draft: every change was stored.
    editor.page.reload()
    expect(editor.node("fan_out")).to_be_visible()
    expect(editor.edge(back)).to_have_count(0)
    editor.expect_no_findings()
