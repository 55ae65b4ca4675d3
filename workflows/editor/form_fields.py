"""Form fields the editor's forms share: strict JSON, node choices, optional text, seconds."""

from __future__ import annotations

import json
import math
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from workflows.dsl.documents import NESTED_TOO_DEEPLY, too_deep
from workflows.dsl.models import U64_MAX


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is out of range")
    return number


# The JSON fields' values sit at most this many levels down in a document (a node's
# output_schema: the document, its nodes, the node, its config).
DEEPEST_FIELD_PLACE = 4
TOO_DEEP = f"The JSON is {NESTED_TOO_DEEPLY}."


class StrictJSONField(forms.JSONField):
    """JSON text; NaN, Infinity and numbers too large for a float are refused (the DSL keeps
    finite numbers only), and so is a value that would nest the document deeper than
    MAX_DOCUMENT_DEPTH (`levels_above`: how deep in the document the value goes). Blank is
    None; the text is shown indented."""

    widget = forms.Textarea

    def __init__(self, *, levels_above: int = DEEPEST_FIELD_PLACE, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        self.levels_above = levels_above
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("rows", 4)
        self.widget.attrs.setdefault("spellcheck", "false")
        self.widget.attrs.setdefault("class", "code")

    def to_python(self, value: Any) -> Any:
        if self.disabled or not isinstance(value, str):
            return super().to_python(value)
        if value.strip() == "":
            return None
        try:
            converted = json.loads(value, parse_constant=_reject_constant, parse_float=_finite)
        except json.JSONDecodeError as problem:
            raise ValidationError(
                "Not valid JSON: %(reason)s (line %(line)s, column %(column)s).",
                code="invalid",
                params={"reason": problem.msg, "line": problem.lineno, "column": problem.colno},
            ) from problem
        except ValueError as problem:
            raise ValidationError(
                "Not valid JSON: %(reason)s.", code="invalid", params={"reason": problem}
            ) from None
        except RecursionError:
            raise ValidationError(TOO_DEEP, code="too_deep") from None
        if too_deep(converted, levels_above=self.levels_above) is not None:
            raise ValidationError(TOO_DEEP, code="too_deep")
        return converted

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Re-rendered as typed, so a mistake can be corrected where it was made.
        if self.disabled:
            return initial
        return forms.fields.InvalidJSONInput(data) if isinstance(data, str) and data.strip() else None


def labelled_choices(labels: dict[str, str]) -> dict[str, str]:
    """Id -> how a list names the item (a node, a branch): its label, with the id after it only
    when another item has the same label (so the two can be told apart); the id when it has
    no label."""
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label.strip()] = counts.get(label.strip(), 0) + 1
    names = {}
    for item_id, label in labels.items():
        words = label.strip()
        names[item_id] = item_id if not words else words if counts[words] == 1 else f"{words} ({item_id})"
    return names


def optional_text(label: str, **kwargs: Any) -> forms.CharField:
    """Text that is left out of the document when blank."""
    return forms.CharField(label=label, required=False, empty_value=None, max_length=500, **kwargs)


def text(label: str, *, max_length: int = 500, **kwargs: Any) -> forms.CharField:
    """Text the DSL requires; blank is kept as "" and reported by validation."""
    return forms.CharField(label=label, required=False, max_length=max_length, **kwargs)


def area(label: str, *, optional: bool = False, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=20_000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        empty_value=None if optional else "",
        **kwargs,
    )


def seconds(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=0, max_value=U64_MAX)
