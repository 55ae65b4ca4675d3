"""Forms of the blueprint editor: the blueprint's name, one form per field, copying.

The forms check what a form can see alone (required text, numbers, lengths); the rules of
a blueprint (key syntax, unique keys, conditions on earlier fields, options of selects)
stay in `conversations.blueprints.schema`, whose pydantic errors `attach_validation_errors`
turns into messages on the form and form field they concern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME
from pydantic import ValidationError

from conversations.blueprints.schema import MAX_OPTIONS, FieldType
from conversations.selectors import BlueprintChoice

PREFIX = "fields"
DEFAULT_MAX_LENGTH = 2000
MAX_FIELDS = 60
# A form set larger than this is refused outright (a forged TOTAL_FORMS), not just trimmed.
ABSOLUTE_MAX_FORMS = 100

TYPE_CHOICES = [
    (FieldType.SINGLE_SELECT.value, "Single select"),
    (FieldType.MULTI_SELECT.value, "Multiple select"),
    (FieldType.FREE_TEXT.value, "Free text"),
    (FieldType.NUMBER.value, "Number"),
    (FieldType.BOOLEAN.value, "Yes or no"),
]
OPERATOR_CHOICES = [
    ("equals", "equals"),
    ("not_equals", "does not equal"),
    ("in", "is one of (comma-separated)"),
    ("includes", "includes (multiple select)"),
    ("answered", "is answered"),
]
TRUE_TEXTS = {"true", "yes"}
FALSE_TEXTS = {"false", "no"}

KEY_MESSAGE = (
    "The key must start with a lowercase letter and hold only lowercase letters, digits and"
    " underscores (at most 40 characters)."
)


class BlueprintForm(forms.Form):
    """The blueprint's name and description."""

    name = forms.CharField(max_length=100, error_messages={"required": "Give the blueprint a name."})
    description = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, taken_names: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken_names = taken_names

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"])
        if name in self.taken_names:
            raise forms.ValidationError(f"Another blueprint of this organization is called “{name}”.")
        return name


class BlueprintFieldForm(forms.Form):
    """One field of the blueprint, as the editor shows it: options one per line, the
    condition split into field, operator and value."""

    key = forms.CharField(
        max_length=40,
        help_text="Lowercase letters, digits and underscores; answers are stored under it.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    label = forms.CharField(max_length=80)
    type = forms.ChoiceField(choices=TYPE_CHOICES, initial=FieldType.FREE_TEXT.value)
    question = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    why = forms.CharField(
        label="Why it is asked",
        max_length=300,
        required=False,
        help_text="Shown under the question.",
    )
    options = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"Select fields only: one per line, at most {MAX_OPTIONS}.",
    )
    suggest = forms.BooleanField(
        label="Suggest options",
        required=False,
        help_text="The assistant proposes options fitting earlier answers; these are the fallback.",
    )
    required = forms.BooleanField(required=False, initial=True)
    min_value = forms.FloatField(label="Smallest number", required=False)
    max_value = forms.FloatField(label="Largest number", required=False)
    max_length = forms.IntegerField(
        label="Longest answer",
        required=False,
        min_value=1,
        max_value=10_000,
        help_text=f"Characters, for free text; {DEFAULT_MAX_LENGTH} when empty.",
    )
    depends_on_field = forms.CharField(
        label="Ask only when field",
        max_length=40,
        required=False,
        help_text="The key of an earlier field; empty: always asked.",
        widget=forms.TextInput(attrs={"list": "field-keys", "autocomplete": "off", "spellcheck": "false"}),
    )
    depends_on_op = forms.ChoiceField(label="Condition", choices=OPERATOR_CHOICES, initial="equals")
    depends_on_value = forms.CharField(
        label="Value",
        max_length=300,
        required=False,
        help_text="true or false for yes-or-no fields; a number for number fields.",
    )

    def field_data(self, types: dict[str, str]) -> dict[str, Any] | None:
        """The field as `BlueprintField` takes it, or None after adding errors to the form.

        `types` maps the keys of the blueprint's fields to their types: a condition's value
        is parsed by the type of the field it tests.
        """
        data = self.cleaned_data
        field: dict[str, Any] = {
            "key": data["key"],
            "label": data["label"],
            "question": data["question"],
            "why": data["why"],
            "type": data["type"],
            "options": [line.strip() for line in data["options"].splitlines() if line.strip()],
            "suggest": data["suggest"],
            "required": data["required"],
        }
        for name in ("min_value", "max_value", "max_length"):
            if data[name] is not None:
                field[name] = data[name]
        target = data["depends_on_field"]
        if not target:
            if data["depends_on_value"]:
                self.add_error("depends_on_field", "Name the field whose answer this value is compared with.")
                return None
            return field
        try:
            value = parse_condition_value(data["depends_on_value"], data["depends_on_op"], types.get(target))
        except forms.ValidationError as error:
            self.add_error("depends_on_value", error)
            return None
        field["depends_on"] = {"field": target, "op": data["depends_on_op"]}
        if value is not None:
            field["depends_on"]["value"] = value
        return field


FieldFormSet = forms.formset_factory(
    BlueprintFieldForm, extra=0, can_delete=True, max_num=MAX_FIELDS, absolute_max=ABSOLUTE_MAX_FORMS
)


def parse_condition_value(text: str, op: str, target_type: str | None) -> Any:
    """A condition's value from the editor's text: a list for `in`, booleans and numbers
    when the field tested takes them, the text otherwise."""
    if op == "answered":
        return None
    text = text.strip()
    if not text:
        raise forms.ValidationError("Give a value to compare with, or choose “is answered”.")
    if op == "in":
        return [_condition_scalar(item.strip(), target_type) for item in text.split(",") if item.strip()]
    return _condition_scalar(text, target_type)


def _condition_scalar(text: str, target_type: str | None) -> Any:
    if target_type == FieldType.BOOLEAN:
        if text.casefold() in TRUE_TEXTS:
            return True
        if text.casefold() in FALSE_TEXTS:
            return False
        raise forms.ValidationError("The field tested is a yes-or-no field: compare with true or false.")
    if target_type == FieldType.NUMBER:
        try:
            number = float(text)
        except ValueError:
            raise forms.ValidationError(
                "The field tested is a number field: compare with a number."
            ) from None
        return int(number) if number.is_integer() else number
    return text


def condition_value_text(value: Any) -> str:
    """How the editor shows a condition's value (the inverse of `parse_condition_value`)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(condition_value_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- The editor's form data --------------------------------------------------------------
# The editor is always a bound form set built from rows of raw values, whether the rows come
# from the saved blueprint or from the page just posted ("Add a field", "Move up"). Every form
# is then an extra form: one left blank is dropped instead of failing as "required".

Row = dict[str, str]
CHECKED = "on"


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
    return row


def blank_row() -> Row:
    """A new field's raw values: the forms' initial values, so left alone it is no change."""
    return {"type": FieldType.FREE_TEXT.value, "required": CHECKED, "depends_on_op": "equals"}


def rows_of(formset: forms.BaseFormSet[BlueprintFieldForm]) -> list[Row]:
    """The raw values of a posted form set, form by form, as they were typed."""
    names = [*BlueprintFieldForm.base_fields, DELETION_FIELD_NAME]
    rows = []
    for form in formset.forms:
        rows.append(
            {
                name: str(form.data[form.add_prefix(name)])
                for name in names
                if form.add_prefix(name) in form.data
            }
        )
    return rows


def editor_data(*, name: str, description: str, rows: Sequence[Row]) -> dict[str, str]:
    """Form data for the editor: the blueprint form's and the field form set's."""
    data = {
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


# --- From forms to a blueprint, and its errors back to the forms ---------------------------


def kept_forms(formset: forms.BaseFormSet[BlueprintFieldForm]) -> list[BlueprintFieldForm]:
    """The field forms to save, in page order: not marked for deletion, not left blank."""
    return [form for form in formset.forms if form.has_changed() and not marked_for_deletion(form)]


def marked_for_deletion(form: forms.Form) -> bool:
    """Whether the form's "remove" box is ticked, valid or not."""
    return bool(form[DELETION_FIELD_NAME].data)


def blueprint_data(meta: BlueprintForm, field_forms: Sequence[BlueprintFieldForm]) -> dict[str, Any] | None:
    """The plain blueprint for `Blueprint.model_validate`, or None when a condition's value
    does not parse (the errors are on the forms). All forms must be valid."""
    types: dict[str, str] = {}
    for form in field_forms:
        types.setdefault(form.cleaned_data["key"], form.cleaned_data["type"])
    fields = [form.field_data(types) for form in field_forms]
    if any(field is None for field in fields):
        return None
    return {
        "name": meta.cleaned_data["name"],
        "description": meta.cleaned_data["description"],
        "fields": fields,
    }


SHARED_KEY = re.compile(r"two fields share the key “(?P<key>[^”]*)”")
NOT_EARLIER = re.compile(r"field “(?P<key>[^”]*)” depends on “(?P<target>[^”]*)”")
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


# --- Copying ------------------------------------------------------------------------------


class BlueprintCopyForm(forms.Form):
    """Copy a built-in blueprint or one of the tenant's own, under a new name."""

    source = forms.ChoiceField(label="Blueprint to copy")
    name = forms.CharField(
        label="Name of the copy",
        max_length=100,
        required=False,
        help_text="Leave empty for “Copy of …”.",
    )

    def __init__(
        self, *args: Any, choices: Sequence[BlueprintChoice], taken_names: set[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.choices = {choice.ref: choice for choice in choices}
        self.taken_names = taken_names
        cast(forms.ChoiceField, self.fields["source"]).choices = [
            (choice.ref, f"{choice.blueprint.name} ({'yours' if choice.own else 'built in'})")
            for choice in choices
        ]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"])
        if name in self.taken_names:
            raise forms.ValidationError(f"Another blueprint of this organization is called “{name}”.")
        return name

    def chosen(self) -> BlueprintChoice:
        return self.choices[self.cleaned_data["source"]]


def copy_name(original: str, taken: set[str]) -> str:
    """“Copy of X”, or “Copy of X (2)”, (3)… : the first that no blueprint of the tenant has,
    shortened to fit the 100 characters a name may have."""
    number = 1
    while True:
        suffix = "" if number == 1 else f" ({number})"
        name = f"Copy of {original}"[: 100 - len(suffix)].rstrip() + suffix
        if name not in taken:
            return name
        number += 1
