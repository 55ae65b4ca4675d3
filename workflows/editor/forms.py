"""Side-panel forms for everything but nodes: edges, variables, triggers, the error policy, the
name. Like the node forms they check shapes, and a cleaned form gives what the DSL accepts."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from pydantic import BaseModel
from pydantic import ValidationError as ModelError

from workflows.dsl.models import ErrorHandlingPolicy, WorkflowEdge, WorkflowTrigger, WorkflowVariable
from workflows.editor.editing import fresh_id
from workflows.editor.element_ids import PLAIN_ID
from workflows.editor.form_fields import StrictJSONField, labelled_choices, optional_text
from workflows.editor.key_value import KeyValueField


class ModelCheckedForm(forms.Form):
    """A form whose `value()` must be accepted by a DSL model; what it refuses is a form error."""

    model: type[BaseModel]

    def value(self) -> dict[str, Any]:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                self.model.model_validate(self.value())
            except ModelError as problem:
                for detail in problem.errors(include_url=False, include_input=False):
                    self.add_error(None, f"{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}")
        return cleaned


class NameForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)


class EdgeForm(ModelCheckedForm):
    """An edge: from a node to a node, out of one of a decision's branches, with a condition
    and a label, all optional but the ends.

    The branch is chosen from a list of the branches of the node the edge comes from
    (`branches`: decision node id -> its (branch id, name) pairs). The list is hidden while
    that node has none; `branch_groups` holds every decision's list, for the page to show
    the right one when another `From` is chosen (static/js/app.js).
    """

    model = WorkflowEdge

    source = forms.ChoiceField(label="From")
    target = forms.ChoiceField(label="To")
    source_handle = forms.ChoiceField(
        label="Branch",
        required=False,
        help_text="Which of the decision's ways out this edge is. None: an edge taken when no branch holds.",
        error_messages={"invalid_choice": "Choose one of the branches of the node the edge comes from."},
    )
    condition_expression = forms.CharField(
        label="Condition",
        required=False,
        max_length=2000,
        help_text="Optional, e.g. amount > 1000: the edge is taken only when it holds. Blank: always taken.",
    )
    label = optional_text(
        "Label", help_text="Optional words shown on the edge in the graph, e.g. “approved”."
    )
    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="Optional: left blank, one is made from the nodes' ids.",
    )

    def __init__(
        self,
        data: Any = None,
        *,
        node_labels: dict[str, str],
        edge_ids: list[str],
        branches: dict[str, list[tuple[str, str]]],
        editing: str | None = None,
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.edge_ids = edge_ids
        self.editing = editing
        names = labelled_choices(node_labels)
        for name in ("source", "target"):
            current = (initial or {}).get(name)
            field_options = list(names.items())
            if isinstance(current, str) and current and current not in node_labels:
                field_options.append((current, f"{current} (no such node)"))
            cast(forms.ChoiceField, self.fields[name]).choices = field_options
        self.fields["source"].widget.attrs["data-branch-source"] = ""
        self.branch_groups = [
            (node_id, list(labelled_choices(dict(own)).items())) for node_id, own in branches.items()
        ]
        self.branches_hidden = self._branch_choices(data, initial or {}, branches)
        if editing is not None:
            self.fields["id"].disabled = True
            self.fields["id"].help_text = "An edge's id cannot change."

    def _branch_choices(
        self, data: Any, initial: dict[str, Any], branches: dict[str, list[tuple[str, str]]]
    ) -> bool:
        """Offer the branches of the edge's source; whether there are none to offer."""
        source = data.get("source") if data is not None else initial.get("source")
        own = branches.get(source, []) if isinstance(source, str) else []
        options = [("", "— none —"), *labelled_choices(dict(own)).items()]
        current = initial.get("source_handle")
        if isinstance(current, str) and current and current not in dict(options):
            options.append((current, f"{current} (not a branch of this node)"))
        cast(forms.ChoiceField, self.fields["source_handle"]).choices = options
        return len(options) == 1

    def clean_id(self) -> str:
        if self.editing is not None:
            return self.editing
        edge_id: str = self.cleaned_data.get("id", "").strip()
        if edge_id and not PLAIN_ID.fullmatch(edge_id):
            raise ValidationError("Letters, digits, _ . and -, starting with a letter, digit or _.")
        if edge_id in self.edge_ids:
            raise ValidationError("Another edge has this id.")
        return edge_id

    def value(self) -> dict[str, Any]:
        """The edge; a label goes with the condition when there is one (a decision names its
        conditional ways out by it), else on the edge itself."""
        cleaned = self.cleaned_data
        edge_id = cleaned["id"] or fresh_id(
            f"{cleaned['source']}_to_{cleaned['target']}", self.edge_ids, fallback="edge"
        )
        edge: dict[str, Any] = {"id": edge_id, "source": cleaned["source"], "target": cleaned["target"]}
        if cleaned.get("source_handle"):
            edge["source_handle"] = cleaned["source_handle"]
        expression = cleaned.get("condition_expression", "").strip()
        label = cleaned.get("label")
        if expression:
            edge["condition"] = {"expression": expression}
            if label:
                edge["condition"]["label"] = label
        elif label:
            edge["label"] = label
        return edge

    @staticmethod
    def initial_of(edge: dict[str, Any]) -> dict[str, Any]:
        condition = edge.get("condition")
        condition = condition if isinstance(condition, dict) else {}
        return {
            "id": edge.get("id"),
            "source": edge.get("source"),
            "target": edge.get("target"),
            "source_handle": edge.get("source_handle"),
            "condition_expression": condition.get("expression"),
            "label": condition.get("label") or edge.get("label"),
        }


class VariableForm(ModelCheckedForm):
    model = WorkflowVariable

    name = forms.CharField(
        label="Name", max_length=100, help_text="How templates and conditions refer to it."
    )
    variable_type = forms.ChoiceField(
        label="Type",
        choices=[(name, name) for name in ("string", "number", "boolean", "object", "array")],
    )
    default_value = StrictJSONField(
        label="Default (JSON, optional)", help_text='e.g. "EUR", 10, true, ["a"].', levels_above=3
    )
    required = forms.BooleanField(label="Required", required=False)
    description = optional_text("Description")

    def value(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        variable: dict[str, Any] = {
            "name": cleaned["name"],
            "variable_type": cleaned["variable_type"],
            "required": cleaned["required"],
        }
        if cleaned.get("default_value") is not None:
            variable["default_value"] = cleaned["default_value"]
        if cleaned.get("description"):
            variable["description"] = cleaned["description"]
        return variable


class TriggerForm(ModelCheckedForm):
    """A trigger: its type and its settings, as name/value rows. Settings that are not all
    text (written by the API or an import) are edited as JSON, so saving keeps them."""

    model = WorkflowTrigger

    trigger_type = forms.ChoiceField(
        label="Type", choices=[(name, name) for name in ("manual", "schedule", "webhook", "event")]
    )
    config = KeyValueField(
        label="Settings",
        key_label="Setting",
        value_label="Value",
        help_text="Read by the scheduler, one setting a row; a schedule: cron, with e.g. 0 6 * * *.",
    )

    def __init__(self, data: Any = None, *, initial: dict[str, Any] | None = None) -> None:
        super().__init__(data, initial=initial)
        stored = (initial or {}).get("config")
        if stored not in (None, {}) and not _text_settings(stored):
            self.fields["config"] = StrictJSONField(
                label="Settings (JSON)",
                help_text='e.g. {"cron": "0 6 * * *"}; read by the scheduler.',
                levels_above=3,
            )

    def value(self) -> dict[str, Any]:
        config = self.cleaned_data.get("config")
        return {"trigger_type": self.cleaned_data["trigger_type"], "config": {} if config is None else config}


def _text_settings(config: object) -> bool:
    """Whether trigger settings are names to text, which rows can show."""
    return isinstance(config, dict) and all(isinstance(value, str) for value in config.values())


class ErrorPolicyForm(ModelCheckedForm):
    model = ErrorHandlingPolicy

    on_error = forms.ChoiceField(
        label="When a node fails",
        choices=[
            ("fail", "fail: stop the workflow"),
            ("retry", "retry: stop, retryable by the workflow's retry policy"),
            ("compensate", "compensate: run the compensation workflow, then stop"),
            ("ignore", "ignore: record the error and go on"),
        ],
    )
    compensation_workflow_id = forms.ChoiceField(label="Compensation workflow", required=False)
    notification_channel = optional_text("Notification channel", help_text="e.g. #ops or ops@example.com.")

    def __init__(
        self,
        data: Any = None,
        *,
        workflows: list[tuple[str, str]],
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        options = [("", "— none —"), *workflows]
        current = (initial or {}).get("compensation_workflow_id")
        if isinstance(current, str) and current and current not in dict(options):
            options.append((current, f"{current} (not a workflow of this organization)"))
        cast(forms.ChoiceField, self.fields["compensation_workflow_id"]).choices = options

    def value(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        policy: dict[str, Any] = {"on_error": cleaned["on_error"]}
        if cleaned.get("compensation_workflow_id"):
            policy["compensation_workflow_id"] = cleaned["compensation_workflow_id"]
        if cleaned.get("notification_channel"):
            policy["notification_channel"] = cleaned["notification_channel"]
        return policy
