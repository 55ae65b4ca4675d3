"""Side-panel forms for the eight node types: typed fields in, a DSL node dictionary out.

The forms check shapes only (numbers are numbers, JSON parses, ids are well formed); what a
node means in its workflow is left to validation, whose findings the editor shows, so an
unfinished draft can be saved. A cleaned form always gives a node the DSL model accepts.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import ValidationError
from pydantic import ValidationError as ModelError

from workflows.dsl.models import U32_MAX, U64_MAX, WorkflowNode
from workflows.editor.editing import fresh_id
from workflows.editor.element_ids import PLAIN_ID
from workflows.editor.form_fields import StrictJSONField, area, labelled_choices, optional_text, seconds, text
from workflows.editor.key_value import input_rows

NODE_TYPE_LABELS = {
    "activity": "Activity",
    "subflow": "Subflow",
    "ai_action": "AI action",
    "n8n": "n8n workflow",
    "decision": "Decision",
    "parallel": "Parallel",
    "wait": "Wait",
    "human_task": "Human task",
}
ID_HELP = (
    "Letters, digits, _ . and -, starting with a letter, digit or _. Left blank, one is made from the label."
)


class NodeForm(forms.Form):
    """What every node has: id, label, timeout and retry policy. Subclasses add the config."""

    node_type: ClassVar[str]
    config_fields: ClassVar[tuple[str, ...]] = ()
    # A config field whose name a node-level field already takes: form name -> config key.
    renamed: ClassVar[dict[str, str]] = {"timeout_seconds_config": "timeout_seconds"}

    id = forms.CharField(label="Id", required=False, max_length=64, help_text=ID_HELP)
    label = forms.CharField(label="Label", max_length=200)
    timeout_seconds = seconds("Node timeout (seconds)")
    retry = forms.BooleanField(label="Retry policy", required=False)
    retry_max_attempts = forms.IntegerField(
        label="Max attempts",
        required=False,
        min_value=0,
        max_value=U32_MAX,
        help_text="0 retries without limit.",
    )
    retry_initial_interval_ms = forms.IntegerField(
        label="Initial interval (ms)", required=False, min_value=0, max_value=U64_MAX
    )
    retry_backoff_coefficient = forms.FloatField(label="Backoff coefficient", required=False, min_value=0)
    retry_max_interval_ms = forms.IntegerField(
        label="Max interval (ms)", required=False, min_value=0, max_value=U64_MAX
    )

    retry_fields = (
        "retry_max_attempts",
        "retry_initial_interval_ms",
        "retry_backoff_coefficient",
        "retry_max_interval_ms",
    )

    def __init__(
        self,
        data: Any = None,
        *,
        node_ids: list[str],
        editing: str | None = None,
        initial: dict[str, Any] | None = None,
        **choices: Any,
    ) -> None:
        """`node_ids` are the document's; `editing` is the id of the node being edited
        (its id is then fixed); other keyword arguments are choices some types need."""
        super().__init__(data, initial=initial)
        self.node_ids = node_ids
        self.editing = editing
        if editing is not None:
            self.fields["id"].disabled = True
            self.fields["id"].help_text = "A node's id cannot change: edges and branches name it."
        self.set_choices(**choices)

    def set_choices(self, **choices: Any) -> None:
        """Types whose fields choose among the workflow's nodes or the tenant's workflows."""

    def clean_id(self) -> str:
        if self.editing is not None:
            return self.editing
        node_id: str = self.cleaned_data.get("id", "").strip()
        if node_id and not PLAIN_ID.fullmatch(node_id):
            raise ValidationError(ID_HELP)
        if node_id in self.node_ids:
            raise ValidationError("Another node has this id.")
        return node_id

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("retry"):
            for name in self.retry_fields:
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, "Needed for a retry policy.")
        if not self.errors:
            try:
                WorkflowNode.model_validate(self.node(position={"x": 0.0, "y": 0.0}))
            except ModelError as problem:
                for detail in problem.errors(include_url=False, include_input=False):
                    self.add_error(None, f"{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}")
        return cleaned

    def config(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        values = {self.renamed.get(name, name): cleaned.get(name) for name in self.config_fields}
        return {"type": self.node_type, **{key: value for key, value in values.items() if value is not None}}

    def node(self, *, position: Any) -> dict[str, Any]:
        """The node as the document holds it; `position` is kept from the node being edited."""
        cleaned = self.cleaned_data
        node_id = cleaned.get("id") or fresh_id(
            cleaned.get("label", ""), self.node_ids, fallback=self.node_type
        )
        node: dict[str, Any] = {
            "id": node_id,
            "node_type": self.node_type,
            "label": cleaned.get("label", ""),
            "position": position,
            "config": self.config(),
        }
        if cleaned.get("retry"):
            node["retry_policy"] = {name.removeprefix("retry_"): cleaned[name] for name in self.retry_fields}
        if cleaned.get("timeout_seconds") is not None:
            node["timeout_seconds"] = cleaned["timeout_seconds"]
        return node

    @classmethod
    def initial_of(cls, node: dict[str, Any]) -> dict[str, Any]:
        """Form values showing a stored node."""
        stored = node.get("config")
        config: dict[str, Any] = stored if isinstance(stored, dict) else {}
        initial: dict[str, Any] = {
            "id": node.get("id"),
            "label": node.get("label"),
            "timeout_seconds": node.get("timeout_seconds"),
            **{name: config.get(cls.renamed.get(name, name)) for name in cls.config_fields},
        }
        policy = node.get("retry_policy")
        if isinstance(policy, dict):
            initial["retry"] = True
            initial.update({f"retry_{key}": value for key, value in policy.items()})
        return initial


class ActivityForm(NodeForm):
    node_type = "activity"
    config_fields = ("activity_name", "input_mapping", "output_variable")

    activity_name = text(
        "Activity name", help_text="The name the activity is registered under in its worker."
    )
    input_mapping = input_rows("activity")
    output_variable = optional_text("Output variable")


class SubflowForm(NodeForm):
    node_type = "subflow"
    config_fields = ("workflow_id", "input_mapping", "output_variable")

    workflow_id = forms.ChoiceField(label="Workflow", required=False)
    input_mapping = input_rows("workflow")
    output_variable = optional_text("Output variable")

    def set_choices(self, *, workflows: list[tuple[str, str]] | None = None, **_: Any) -> None:
        current = self.initial.get("workflow_id")
        options = [("", "— choose a workflow —"), *(workflows or [])]
        if isinstance(current, str) and current and current not in dict(options):
            options.append((current, f"{current} (not a workflow of this organization)"))
        cast(forms.ChoiceField, self.fields["workflow_id"]).choices = options


class AiActionForm(NodeForm):
    node_type = "ai_action"
    config_fields = (
        "provider",
        "model",
        "prompt_template",
        "temperature",
        "max_tokens",
        "use_local_model",
        "output_schema",
        "output_variable",
    )

    provider = forms.ChoiceField(
        label="Provider",
        choices=[("anthropic", "Anthropic"), ("openai", "OpenAI"), ("google", "Google"), ("local", "Local")],
    )
    model = text("Model")
    prompt_template = area("Prompt template", help_text="{{name}} inserts a variable or an earlier output.")
    temperature = forms.FloatField(label="Temperature", initial=0.2)
    max_tokens = forms.IntegerField(label="Max tokens", min_value=0, max_value=U32_MAX, initial=1024)
    use_local_model = forms.BooleanField(label="Use the local model", required=False)
    output_schema = StrictJSONField(label="Output schema (JSON Schema, optional)")
    output_variable = optional_text("Output variable")


class N8nForm(NodeForm):
    node_type = "n8n"
    config_fields = (
        "workflow_id",
        "webhook_path",
        "input_mapping",
        "wait_for_completion",
        "timeout_seconds_config",
        "output_variable",
    )

    workflow_id = text("n8n workflow id")
    webhook_path = optional_text("Webhook path")
    input_mapping = input_rows("n8n workflow")
    wait_for_completion = forms.BooleanField(label="Wait for completion", required=False, initial=True)
    timeout_seconds_config = seconds("n8n timeout (seconds)")
    output_variable = optional_text("Output variable")


class BranchForm(forms.Form):
    """One way out of a decision; a row left blank is not a branch."""

    id = forms.CharField(label="Branch id", required=False, max_length=64)
    condition = forms.CharField(label="Branch condition", required=False, max_length=2000)
    label = forms.CharField(label="Branch label", required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if any(cleaned.get(name) for name in ("id", "condition", "label")):
            if not cleaned.get("id"):
                self.add_error("id", "A branch needs an id (its edges are chosen by it), e.g. yes.")
            if not cleaned.get("condition"):
                self.add_error("condition", "A branch needs a condition, e.g. amount > 1000.")
        return cleaned


class BaseBranchFormSet(forms.BaseFormSet[BranchForm]):
    def clean(self) -> None:
        ids = [form.cleaned_data.get("id") for form in self.forms if form.cleaned_data.get("id")]
        if len(ids) != len(set(ids)):
            raise ValidationError("Each branch needs its own id.")

    def branches(self) -> list[dict[str, str]]:
        return [
            {
                "id": form.cleaned_data["id"],
                "condition": form.cleaned_data["condition"],
                "label": form.cleaned_data["label"],
            }
            for form in self.forms
            if form.cleaned_data.get("id")
        ]


BranchFormSet = forms.formset_factory(
    BranchForm, formset=BaseBranchFormSet, extra=2, max_num=50, absolute_max=60
)
BRANCH_PREFIX = "branch"


def _row_count(data: Any) -> int:
    try:
        return max(0, int(data.get(f"{BRANCH_PREFIX}-TOTAL_FORMS", 0)))
    except (TypeError, ValueError):
        return 0


class DecisionForm(NodeForm):
    node_type = "decision"
    config_fields = ("condition_expression", "default_branch")

    condition_expression = text(
        "Subject (optional)",
        max_length=2000,
        help_text="A branch condition that is a bare literal means subject == literal.",
    )
    default_branch = forms.ChoiceField(
        label="When no branch holds",
        required=False,
        help_text="Where the workflow goes when no branch's condition is true. "
        "None: the edge out of this node that has no branch, if there is one.",
        error_messages={"invalid_choice": "Choose one of the listed branches or nodes."},
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        branches = self.initial.get("branches")
        rows = (
            [branch for branch in branches if isinstance(branch, dict)] if isinstance(branches, list) else []
        )
        # Bound rows take no initial values: a row equal to its initial one would count as
        # unchanged, and unchanged extra rows are skipped.
        initial = rows if data is None and rows else None
        self.branch_forms = cast(
            BaseBranchFormSet, BranchFormSet(data, prefix=BRANCH_PREFIX, initial=initial)
        )
        self._default_choices(rows, data)

    def set_choices(self, *, node_labels: dict[str, str] | None = None, **_: Any) -> None:
        self.node_names = labelled_choices(node_labels or dict.fromkeys(self.node_ids, ""))

    def _default_choices(self, rows: list[dict[str, Any]], data: Any) -> None:
        """The default as a choice: one of the branches (the stored ones, or when posted, the
        rows that replace them) or a node to go to. A stored default that is neither (an
        edge's id) is kept as it is."""
        branches = {
            str(row["id"]): str(row.get("label") or row["id"])
            for row in rows
            if isinstance(row.get("id"), str) and row["id"] and data is None
        }
        if data is not None:
            for index in range(min(_row_count(data), BranchFormSet.absolute_max)):
                posted = str(data.get(f"{BRANCH_PREFIX}-{index}-id", "")).strip()
                label = str(data.get(f"{BRANCH_PREFIX}-{index}-label", "")).strip()
                if posted:
                    branches[posted] = label or posted
        nodes = [
            (node_id, f"Go to “{name}”")
            for node_id, name in self.node_names.items()
            if node_id != self.editing
        ]
        options: list[Any] = [("", "None: the edge without a branch")]
        if branches:
            options.append(
                (
                    "A branch",
                    [(key, f"The “{name}” branch") for key, name in labelled_choices(branches).items()],
                )
            )
        if nodes:
            options.append(("A node", nodes))
        known = set(branches) | {node_id for node_id, _ in nodes}
        current = self.initial.get("default_branch")
        if isinstance(current, str) and current and current not in known:
            options.append((current, f"{current} (as stored)"))
        cast(forms.ChoiceField, self.fields["default_branch"]).choices = options

    def clean_default_branch(self) -> str | None:
        return self.cleaned_data.get("default_branch") or None

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if not self.branch_forms.is_valid():
            self.add_error(None, "Correct the branches marked below.")
            return False
        return valid

    def config(self) -> dict[str, Any]:
        config = super().config()
        config["branches"] = self.branch_forms.branches() if self.branch_forms.is_valid() else []
        return config

    @classmethod
    def initial_of(cls, node: dict[str, Any]) -> dict[str, Any]:
        initial = super().initial_of(node)
        config = node.get("config")
        initial["branches"] = config.get("branches") if isinstance(config, dict) else []
        return initial


class ParallelForm(NodeForm):
    node_type = "parallel"
    config_fields = ("branches", "wait_for_all")

    branches = forms.MultipleChoiceField(
        label="Branches",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The nodes that start each branch; connect an edge from this node to each of them.",
    )
    wait_for_all = forms.BooleanField(
        label="Wait for all branches",
        required=False,
        initial=True,
        help_text="Off: go on after the first, cancel the rest.",
    )

    def set_choices(self, *, node_labels: dict[str, str] | None = None, **_: Any) -> None:
        names = labelled_choices(node_labels or dict.fromkeys(self.node_ids, ""))
        options = [
            (node_id, names.get(node_id, node_id)) for node_id in self.node_ids if node_id != self.editing
        ]
        current = self.initial.get("branches")
        for branch in current if isinstance(current, list) else []:
            if isinstance(branch, str) and branch not in self.node_ids:
                options.append((branch, f"{branch} (no such node)"))
        cast(forms.ChoiceField, self.fields["branches"]).choices = options


class WaitForm(NodeForm):
    node_type = "wait"
    config_fields = (
        "wait_type",
        "duration_seconds",
        "signal_name",
        "timeout_seconds_config",
        "condition_expression",
    )

    wait_type = forms.ChoiceField(
        label="Wait for", choices=[("timer", "a timer"), ("signal", "a signal"), ("condition", "a condition")]
    )
    duration_seconds = seconds("Duration (seconds)")
    signal_name = optional_text("Signal name")
    timeout_seconds_config = seconds("Give up after (seconds)")
    condition_expression = optional_text("Condition", help_text="For a condition wait: until this holds.")


class HumanTaskForm(NodeForm):
    node_type = "human_task"
    config_fields = (
        "task_type",
        "title",
        "description",
        "assignee_expression",
        "form_schema",
        "timeout_seconds_config",
        "output_variable",
    )

    task_type = text("Task type", help_text="e.g. approval, review.")
    title = text("Title")
    description = area("Description", optional=True)
    assignee_expression = optional_text("Assignee", help_text="e.g. {{order.owner_email}}.")
    form_schema = StrictJSONField(label="Form schema (JSON, optional)")
    timeout_seconds_config = seconds("Task timeout (seconds)")
    output_variable = optional_text("Output variable")


NODE_FORMS: dict[str, type[NodeForm]] = {
    form.node_type: form
    for form in (
        ActivityForm,
        SubflowForm,
        AiActionForm,
        N8nForm,
        DecisionForm,
        ParallelForm,
        WaitForm,
        HumanTaskForm,
    )
}
