"""Forms of the blueprint editor: the blueprint's name, one form per field, copying.

The forms check what a form can see alone (required text, numbers, lengths); the rules of
a blueprint (key syntax, unique keys, conditions on and dependencies between fields, options
of selects) stay in `conversations.blueprints.schema`, whose pydantic errors
`form_validation.attach_validation_errors` turns into messages on the form and form field
they concern. The editor's raw form data (its rows) is built in `editor_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

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


class EarlierFieldsField(forms.MultipleChoiceField):
    """Keys of other fields, chosen among those above the form's field.

    Any key is taken here: whether it names an earlier field, a later one or none, and
    whether it closes a cycle, is the schema's to say, with a message that names the rule
    (a key ticked before its field was moved above it must not vanish without a word).
    """

    def valid_value(self, value: str) -> bool:
        return isinstance(value, str)


class BlueprintFieldForm(forms.Form):
    """One field of the blueprint, as the editor shows it: options one per line, the
    condition split into field, operator and value, the fields it is based on as boxes to
    tick among the fields above it (`earlier`: their keys and labels, in page order)."""

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
    based_on = EarlierFieldsField(
        label="Asked again when these answers change",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=(
            "The earlier answers this one is given in the light of: its options or its meaning"
            " follow them. The field of its condition counts already."
        ),
    )

    def __init__(self, *args: Any, earlier: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(EarlierFieldsField, self.fields["based_on"])
        choices = [(key, f"{label} ({key})" if label else key) for key, label in earlier]
        offered = {key for key, _ in earlier}
        if self.is_bound:
            ticked = field.widget.value_from_datadict(self.data, self.files, self.add_prefix("based_on"))
            # Ticked but not above (the field was moved, or the page forged): shown ticked,
            # so that saving says what is wrong with it.
            choices += [(key, key) for key in dict.fromkeys(ticked or []) if key not in offered]
        field.choices = choices

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
            "based_on": list(data["based_on"]),
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


class BaseFieldFormSet(forms.BaseFormSet[BlueprintFieldForm]):
    """The field forms, each offered the fields above it to be based on."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        kwargs["earlier"] = self._fields_above(index or 0) if self.is_bound else []
        return kwargs

    def _fields_above(self, index: int) -> list[tuple[str, str]]:
        """Keys and labels of the forms above form `index`, as typed (the forms themselves
        are being built)."""
        found: dict[str, str] = {}
        for above in range(index):
            key = str(self.data.get(f"{self.prefix}-{above}-key", "")).strip()
            if key and key not in found:
                found[key] = str(self.data.get(f"{self.prefix}-{above}-label", "")).strip()
        return list(found.items())


FieldFormSet = forms.formset_factory(
    BlueprintFieldForm,
    formset=BaseFieldFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_FIELDS,
    absolute_max=ABSOLUTE_MAX_FORMS,
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
