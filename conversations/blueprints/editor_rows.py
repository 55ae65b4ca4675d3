"""The blueprint editor's raw form data, as rows of values.

The editor is always a bound form set built from rows of raw values, whether the rows come
from the saved blueprint or from the page just posted ("Add a field", "Move up"). Every form
is then an extra form: one left blank is dropped instead of failing as "required".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME

from conversations.blueprints.forms import (
    DEFAULT_MAX_LENGTH,
    PREFIX,
    BlueprintFieldForm,
    condition_value_text,
)
from conversations.blueprints.schema import FieldType

# A form's raw values: text, or the keys ticked among several boxes (`based_on`).
Row = dict[str, str | list[str]]
CHECKED = "on"
MULTIPLE = ("based_on",)


def row_from_field(field: dict[str, Any]) -> Row:
    """The editor's raw values for a saved field (as `BlueprintField.model_dump` wrote it)."""
    row: Row = {
        "key": str(field.get("key", "")),
        "label": str(field.get("label", "")),
        "type": str(field.get("type", FieldType.FREE_TEXT.value)),
        "question": str(field.get("question", "")),
        "why": str(field.get("why", "")),
        "options": "\n".join(str(option) for option in field.get("options") or []),
        "depends_on_op": "equals",
    }
    if field.get("suggest"):
        row["suggest"] = CHECKED
    if field.get("required", True):
        row["required"] = CHECKED
    for name in ("min_value", "max_value"):
        if field.get(name) is not None:
            row[name] = condition_value_text(field[name])
    if field.get("max_length") not in (None, DEFAULT_MAX_LENGTH):
        row["max_length"] = str(field["max_length"])
    condition = field.get("depends_on")
    if condition:
        row["depends_on_field"] = str(condition.get("field", ""))
        row["depends_on_op"] = str(condition.get("op", "equals"))
        row["depends_on_value"] = condition_value_text(condition.get("value"))
    if field.get("based_on"):
        row["based_on"] = [str(key) for key in field["based_on"]]
    return row


def blank_row() -> Row:
    """A new field's raw values: the forms' initial values, so left alone it is no change."""
    return {"type": FieldType.FREE_TEXT.value, "required": CHECKED, "depends_on_op": "equals"}


def rows_of(formset: forms.BaseFormSet[BlueprintFieldForm]) -> list[Row]:
    """The raw values of a posted form set, form by form, as they were typed."""
    names = [*BlueprintFieldForm.base_fields, DELETION_FIELD_NAME]
    rows = []
    for form in formset.forms:
        row: Row = {
            name: str(form.data[form.add_prefix(name)])
            for name in names
            if form.add_prefix(name) in form.data and name not in MULTIPLE
        }
        for name in MULTIPLE:
            ticked = form.fields[name].widget.value_from_datadict(
                form.data, form.files, form.add_prefix(name)
            )
            if ticked:
                row[name] = [str(key) for key in ticked]
        rows.append(row)
    return rows


def editor_data(*, name: str, description: str, rows: Sequence[Row]) -> dict[str, str | list[str]]:
    """Form data for the editor: the blueprint form's and the field form set's."""
    data: dict[str, str | list[str]] = {
        "name": name,
        "description": description,
        f"{PREFIX}-TOTAL_FORMS": str(len(rows)),
        f"{PREFIX}-INITIAL_FORMS": "0",
    }
    for index, row in enumerate(rows):
        data.update({f"{PREFIX}-{index}-{name}": value for name, value in row.items()})
    return data


def moved(rows: list[Row], index: int, direction: str) -> list[Row]:
    """The rows with one moved a place up or down (unchanged at either end)."""
    other = index - 1 if direction == "up" else index + 1
    if not (0 <= index < len(rows) and 0 <= other < len(rows)):
        return rows
    rows = list(rows)
    rows[index], rows[other] = rows[other], rows[index]
    return rows
