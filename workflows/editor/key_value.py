"""Key/value rows: a mapping of names to text edited as rows of two boxes, not as JSON.

Each row posts `<name>-key` and `<name>-value`; rows are read in order, blank rows are
skipped. Rows are added and removed in the browser (static/js/app.js, "Key/value rows");
without script, the blank row at the end takes one more and clearing a row removes it.
"""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

MAX_KEY_LENGTH = 200
MAX_VALUE_LENGTH = 2000
MAX_ROWS = 100

Rows = list[tuple[str, str]]


def _quoted(text: str, limit: int = 40) -> str:
    text = text.strip()
    return "“" + (text if len(text) <= limit else text[: limit - 1] + "…") + "”"


class KeyValueWidget(forms.Widget):
    """The rows of a `KeyValueField`, with one blank row to fill at the end."""

    template_name = "workflows/partials/key_value_rows.html"

    def __init__(self, *, key_label: str, value_label: str, value_placeholder: str = "") -> None:
        super().__init__()
        self.key_label = key_label
        self.value_label = value_label
        self.value_placeholder = value_placeholder

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Rows:
        if hasattr(data, "getlist"):
            keys, values = data.getlist(f"{name}-key"), data.getlist(f"{name}-value")
        else:  # a plain dict: one row at most
            keys, values = [data.get(f"{name}-key", "")], [data.get(f"{name}-value", "")]
        return [(str(key), str(value)) for key, value in zip_longest(keys, values, fillvalue="")]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-key" not in data and f"{name}-value" not in data

    @staticmethod
    def rows_of(value: Any) -> Rows:
        """The rows a stored mapping, or rows sent back by a form, are shown as."""
        if isinstance(value, dict):
            return [(str(key), text if isinstance(text, str) else str(text)) for key, text in value.items()]
        if isinstance(value, list):
            return [(str(key), str(text)) for key, text in value]
        return []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        rows = [row for row in self.rows_of(value) if row[0].strip() or row[1].strip()]
        context["widget"].update(
            {
                "rows": [*rows, ("", "")],
                "key_label": self.key_label,
                "value_label": self.value_label,
                "value_placeholder": self.value_placeholder,
                "key_max": MAX_KEY_LENGTH,
                "value_max": MAX_VALUE_LENGTH,
            }
        )
        return context

    def id_for_label(self, id_: str) -> str:
        return id_  # the first row's name box carries the field's id


class KeyValueField(forms.Field):
    """Names to text, in the order typed: `{"order": "{{order_id}}"}`. Every row with text
    needs both a name and a value, and a name may be used once; each problem is its own
    error naming the row by what it holds."""

    def __init__(
        self,
        *,
        key_label: str = "Name",
        value_label: str = "Value",
        value_placeholder: str = "",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            KeyValueWidget(key_label=key_label, value_label=value_label, value_placeholder=value_placeholder),
        )
        super().__init__(**kwargs)
        self.key_label = key_label
        self.value_label = value_label

    def to_python(self, value: Any) -> dict[str, str]:
        if isinstance(value, dict):
            return {str(key): str(text) for key, text in value.items()}
        rows: Rows = value if isinstance(value, list) else []
        filled = [(key.strip(), text.strip()) for key, text in rows if key.strip() or text.strip()]
        if len(filled) > MAX_ROWS:
            raise ValidationError(f"At most {MAX_ROWS} rows.", code="too_many")
        problems: list[ValidationError] = []
        mapping: dict[str, str] = {}
        key_word, value_word = self.key_label.lower(), self.value_label.lower()
        for key, text in filled:
            if not key:
                problems.append(
                    ValidationError(f"The {value_word} {_quoted(text)} has no {key_word}: write one.")
                )
            elif not text:
                problems.append(
                    ValidationError(f"{_quoted(key)} has no {value_word}: write one, or remove the row.")
                )
            elif key in mapping:
                problems.append(ValidationError(f"{_quoted(key)} is in two rows: keep one."))
            elif len(key) > MAX_KEY_LENGTH:
                problems.append(
                    ValidationError(f"{_quoted(key)} is longer than {MAX_KEY_LENGTH} characters.")
                )
            elif len(text) > MAX_VALUE_LENGTH:
                problems.append(
                    ValidationError(
                        f"The {value_word} of {_quoted(key)} is longer than {MAX_VALUE_LENGTH} characters."
                    )
                )
            else:
                mapping[key] = text
        if problems:
            raise ValidationError(problems)
        return mapping

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Shown again as typed, so a mistake is corrected where it was made.
        return initial if self.disabled else data

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


def input_rows(what: str) -> KeyValueField:
    """An input mapping as rows: the name `what` reads, and the text or {{variable}} it gets."""
    return KeyValueField(
        label="Inputs",
        key_label="Input name",
        value_label="Value",
        value_placeholder="{{order_id}}",
        help_text=(
            f"What the {what} gets, one input a row: its name, and its value: text, or {{{{name}}}} "
            "for a variable or an earlier step's output."
        ),
    )
