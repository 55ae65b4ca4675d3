"""From the blueprint editor's forms to a blueprint, and its validation errors back onto them.

The plain blueprint the valid forms make goes to `Blueprint.model_validate`; each error
pydantic reports is put on the form field it concerns, in the editor's words, and the page
gets one summary of every error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME
from pydantic import ValidationError

from conversations.blueprints.forms import MAX_FIELDS, BlueprintFieldForm, BlueprintForm
from conversations.blueprints.schema import MAX_OPTIONS

KEY_MESSAGE = (
    "The key must start with a lowercase letter and hold only lowercase letters, digits and"
    " underscores (at most 40 characters)."
)


def kept_forms(formset: forms.BaseFormSet[BlueprintFieldForm]) -> list[BlueprintFieldForm]:
    """The field forms to save, in page order: not marked for deletion, not left blank."""
    return [form for form in formset.forms if form.has_changed() and not marked_for_deletion(form)]


def marked_for_deletion(form: forms.Form) -> bool:
    """Whether the form's "remove" box is ticked, valid or not."""
    return bool(form[DELETION_FIELD_NAME].data)


def removed_keys(formset: forms.BaseFormSet[BlueprintFieldForm]) -> set[str]:
    """The keys of the fields marked to be removed (and kept by no other form)."""
    kept = {form.data.get(form.add_prefix("key")) for form in kept_forms(formset)}
    return {
        str(key)
        for form in formset.forms
        if marked_for_deletion(form) and (key := form.data.get(form.add_prefix("key"))) not in kept
    }


def blueprint_data(
    meta: BlueprintForm, field_forms: Sequence[BlueprintFieldForm], *, removed: set[str] | None = None
) -> dict[str, Any] | None:
    """The plain blueprint for `Blueprint.model_validate`, or None when a condition's value
    does not parse (the errors are on the forms). All forms must be valid.

    A field removed in the same save (`removed`) is no longer ticked where others were based
    on it: removing it says so. A condition on it stays, to be refused: the question it
    guarded would otherwise be asked always.
    """
    types: dict[str, str] = {}
    for form in field_forms:
        types.setdefault(form.cleaned_data["key"], form.cleaned_data["type"])
    fields = [form.field_data(types) for form in field_forms]
    if any(field is None for field in fields):
        return None
    for field in fields:
        if field is not None and removed:
            field["based_on"] = [key for key in field["based_on"] if key not in removed]
    return {
        "name": meta.cleaned_data["name"],
        "description": meta.cleaned_data["description"],
        "fields": fields,
    }


SHARED_KEY = re.compile(r"two fields share the key “(?P<key>[^”]*)”")
NOT_EARLIER = re.compile(r"field “(?P<key>[^”]*)” depends on “(?P<target>[^”]*)”")
BASED_ON = re.compile(
    r"field “(?P<key>[^”]*)” is based on “(?P<target>[^”]*)”, (?P<problem>which|a later|itself)"
)
CYCLE = re.compile(r"field “(?P<key>[^”]*)” is in a cycle of dependencies: (?P<steps>.*?)$")
FIELD_PREFIX = re.compile(r"^(?:Value error, )?(?:field “[^”]*”: )?")


def attach_validation_errors(
    error: ValidationError, meta: BlueprintForm, field_forms: Sequence[BlueprintFieldForm]
) -> list[str]:
    """Put each of pydantic's errors on the form field it concerns, in the editor's words.

    `field_forms` are in the order of the validated fields. Returns the errors that concern
    the blueprint as a whole.
    """
    general: list[str] = []
    for problem in error.errors():
        loc = problem["loc"]
        if loc and loc[0] == "fields" and len(loc) >= 2 and isinstance(loc[1], int):
            form = field_forms[loc[1]]
            name, message = _field_problem(problem, loc[2:], form)
            form.add_error(name, message)
        elif loc and loc[0] in meta.fields:
            meta.add_error(str(loc[0]), _plain(problem["msg"]))
        elif loc == ("fields",):
            general.append(
                "A blueprint needs at least one field."
                if problem["type"] == "too_short"
                else f"A blueprint has at most {MAX_FIELDS} fields."
            )
        elif not _attach_blueprint_rule(problem["msg"], field_forms):
            general.append(_plain(problem["msg"]))
    return general


def _plain(message: str) -> str:
    """Pydantic's message without its "Value error," and the field key it starts with."""
    text = FIELD_PREFIX.sub("", message, count=1)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _field_problem(
    problem: Any, rest: tuple[int | str, ...], form: BlueprintFieldForm
) -> tuple[str | None, str]:
    """The form field and the message for an error inside one field."""
    message = str(problem["msg"])
    if rest == ("key",) and problem["type"] == "string_pattern_mismatch":
        return "key", KEY_MESSAGE
    if rest and rest[0] == "based_on":
        if problem["type"] == "string_pattern_mismatch":
            return (
                "based_on",
                "Tick fields above this one; keys are lowercase letters, digits and underscores.",
            )
        return "based_on", _plain(message)
    if rest and rest[0] == "depends_on":
        if rest[1:] == ("field",) and problem["type"] == "string_pattern_mismatch":
            return "depends_on_field", "Name the earlier field by its key."
        return ("depends_on_value" if rest[1:] == ("value",) else "depends_on_field"), _plain(message)
    if rest and isinstance(rest[0], str) and rest[0] in form.fields:
        return rest[0], _plain(message)
    # The field's own validator: options that do not fit the type, min above max.
    if "needs options" in message:
        return "options", "A select field needs options, one per line (the fallback when it suggests)."
    if "options must be distinct" in message:
        options = form.cleaned_data.get("options", "")
        if len([line for line in options.splitlines() if line.strip()]) > MAX_OPTIONS:
            return "options", f"A field offers at most {MAX_OPTIONS} options."
        return "options", "Options must be distinct and at most 80 characters each."
    if "only select fields have options" in message:
        name = "options" if form.cleaned_data.get("options", "").strip() else "suggest"
        return name, "Only select fields have options or suggestions: clear them or change the type."
    if "min_value is above max_value" in message:
        return "min_value", "The smallest number is above the largest."
    return None, _plain(message)


def _attach_blueprint_rule(message: str, field_forms: Sequence[BlueprintFieldForm]) -> bool:
    """Errors of the blueprint's own validator name the field key: attach them there."""
    keys = [form.cleaned_data.get("key") for form in field_forms]
    if match := SHARED_KEY.search(message):
        key = match["key"]
        for index, form in enumerate(field_forms):
            if keys[index] == key and keys.index(key) < index:
                form.add_error("key", f"Another field above already has the key “{key}”; keys are unique.")
        return True
    if match := NOT_EARLIER.search(message):
        key, target = match["key"], match["target"]
        if key not in keys:
            return False
        position = keys.index(key)
        if target == key:
            text = "A field cannot depend on itself."
        elif target in keys[position + 1 :]:
            text = f"This depends on “{target}”, a later field: a field can only depend on an earlier one."
        else:
            text = f"This depends on “{target}”, which is not a field of this blueprint."
        field_forms[position].add_error("depends_on_field", text)
        return True
    if match := BASED_ON.search(message):
        key, target = match["key"], match["target"]
        if key not in keys:
            return False
        if match["problem"] == "itself":
            text = "A field cannot be based on itself."
        elif match["problem"] == "a later":
            text = f"“{target}” comes after this field: a field is based only on fields above it."
        else:
            text = f"“{target}” is not a field of this blueprint."
        field_forms[keys.index(key)].add_error("based_on", text)
        return True
    if match := CYCLE.search(message):
        key, steps = match["key"], match["steps"]
        if key not in keys:
            return False
        form = field_forms[keys.index(key)]
        # The first step leaves this field: through its condition or what it is based on.
        target = steps.split(", ", 1)[0].rsplit(" depends on ", 1)[-1]
        name = "based_on" if target in form.cleaned_data.get("based_on", []) else "depends_on_field"
        form.add_error(
            name,
            f"Fields depend on each other in a circle ({steps}): a field can only depend on fields above it.",
        )
        return True
    return False


def error_summary(
    meta: BlueprintForm, formset: forms.BaseFormSet[BlueprintFieldForm], general: Sequence[str]
) -> list[str]:
    """Every error of the page in one list, for the alert at its top (a long page hides them)."""
    summary = [*general, *formset.non_form_errors()]
    for name, errors in meta.errors.items():
        summary += [f"{_label(meta, name)}: {error}" for error in errors]
    for number, form in enumerate(formset.forms, start=1):
        if marked_for_deletion(form):
            continue
        key = form.data.get(form.add_prefix("key")) or "new field"
        for name, errors in form.errors.items():
            summary += [f"Field {number} ({key}), {_label(form, name)}: {error}" for error in errors]
    return summary


def _label(form: forms.Form, name: str) -> str:
    if name not in form.fields:  # errors of the whole form
        return "the field"
    return str(form.fields[name].label or name.replace("_", " ").capitalize())
