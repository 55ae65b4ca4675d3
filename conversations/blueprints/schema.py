"""Blueprints: the requirement schema an interview fills in, field by field.

A blueprint is an ordered list of fields. Each says what to ask, why, what kind of answer
it takes and, optionally, when it applies (a condition on earlier answers, `depends_on`) and
which earlier answers it is given in the light of (`based_on`: the features of a network
function, the management API of a vendor). Both make a field depend on earlier ones: when an
answer changes, every field that depends on it, directly or through others, is cleared and
asked again (`Blueprint.answer_changed`). Values are validated here, whoever produced them:
the user's chip, the user's text, or the model's extraction. Nothing that does not validate
is ever stored as an answer.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KEY = r"^[a-z][a-z0-9_]{0,39}$"
MAX_OPTIONS = 8
MAX_OPTION_LENGTH = 80
SKIPPED = "__skipped__"


class FieldType(StrEnum):
    SINGLE_SELECT = "single_select"
    MULTI_SELECT = "multi_select"
    FREE_TEXT = "free_text"
    NUMBER = "number"
    BOOLEAN = "boolean"

    @property
    def is_select(self) -> bool:
        return self in (FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT)


class InvalidAnswer(ValueError):
    """A value that a field does not accept; the message says why, for the user."""


class Condition(BaseModel):
    """When a field applies: a test on the answer of an earlier field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(pattern=KEY)
    op: Literal["equals", "not_equals", "in", "includes", "answered"] = "equals"
    value: Any = None

    def holds(self, answers: dict[str, Any]) -> bool:
        answer = answers.get(self.field)
        if answer is None or answer == SKIPPED:
            return False
        if self.op == "answered":
            return True
        if self.op == "equals":
            return _same(answer, self.value)
        if self.op == "not_equals":
            return not _same(answer, self.value)
        if self.op == "in":
            return any(_same(answer, item) for item in _as_list(self.value))
        # includes: a multi-select answer that contains the value
        return any(_same(item, self.value) for item in _as_list(answer))

    def describe(self) -> str:
        if self.op == "answered":
            return f"when “{self.field}” is answered"
        words = {"equals": "is", "not_equals": "is not", "in": "is one of", "includes": "includes"}[self.op]
        return f"when “{self.field}” {words} {self.value!r}"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


def clean_text(value: str) -> str:
    """Text as a person typed it, without control or direction-override characters."""
    kept = (char for char in value if char in "\n\t" or unicodedata.category(char)[0] != "C")
    return "".join(kept).strip()


class BlueprintField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY)
    label: str = Field(min_length=1, max_length=80)
    question: str = Field(min_length=1, max_length=300)
    why: str = Field(default="", max_length=300)
    type: FieldType
    # For selects: the choices; for "suggest" fields, the fallback when the model proposes none.
    options: list[str] = Field(default_factory=list)
    suggest: bool = False
    required: bool = True
    depends_on: Condition | None = None
    # Earlier fields whose answers this one is given in the light of (its options or its
    # wording follow them) without being a condition: a change of one of them asks it again.
    based_on: list[Annotated[str, Field(pattern=KEY)]] = Field(default_factory=list, max_length=60)
    min_value: float | None = None
    max_value: float | None = None
    max_length: int = Field(default=2000, ge=1, le=10_000)

    @field_validator("based_on")
    @classmethod
    def _each_basis_once(cls, keys: list[str]) -> list[str]:
        return list(dict.fromkeys(keys))

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> BlueprintField:
        if self.type.is_select:
            if not self.options:
                raise ValueError(
                    f"field “{self.key}”: a select field needs options (a fallback, when it suggests)"
                )
            cleaned = normalize_options(self.options)
            if len(cleaned) != len(self.options):
                raise ValueError(
                    f"field “{self.key}”: options must be distinct, non-empty and at most 80 characters"
                )
        elif self.options or self.suggest:
            raise ValueError(f"field “{self.key}”: only select fields have options")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError(f"field “{self.key}”: min_value is above max_value")
        return self

    def accepts(self, value: Any, offered: list[str] | None = None) -> Any:
        """The value as stored, or InvalidAnswer. `offered`: the options the question showed."""
        if value == SKIPPED:
            if self.required:
                raise InvalidAnswer(f"{self.label} is required")
            return SKIPPED
        options = offered if offered else self.options
        if self.type is FieldType.SINGLE_SELECT:
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            return _pick(value, options, self.label)
        if self.type is FieldType.MULTI_SELECT:
            values = value if isinstance(value, list) else _split(value)
            picked: list[str] = []
            for item in values:
                choice = _pick(item, options, self.label)
                if choice not in picked:
                    picked.append(choice)
            if not picked:
                raise InvalidAnswer(f"choose at least one option for {self.label}")
            return picked
        if self.type is FieldType.NUMBER:
            return self._number(value)
        if self.type is FieldType.BOOLEAN:
            return _boolean(value, self.label)
        if not isinstance(value, str):
            raise InvalidAnswer(f"{self.label} takes text")
        text = clean_text(value)
        if not text:
            raise InvalidAnswer(f"{self.label} cannot be empty")
        if len(text) > self.max_length:
            raise InvalidAnswer(f"{self.label} takes at most {self.max_length} characters")
        return text

    def _number(self, value: Any) -> int | float:
        if isinstance(value, bool):
            raise InvalidAnswer(f"{self.label} takes a number")
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(-?\d+(?:[.,]\d+)?)\s*", value.replace("_", "").replace("\u2009", ""))
            if not match:
                raise InvalidAnswer(f"{self.label} takes a number")
            value = float(match.group(1).replace(",", "."))
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidAnswer(f"{self.label} takes a number")
        if self.min_value is not None and value < self.min_value:
            raise InvalidAnswer(f"{self.label} is at least {self.min_value:g}")
        if self.max_value is not None and value > self.max_value:
            raise InvalidAnswer(f"{self.label} is at most {self.max_value:g}")
        return int(value) if float(value).is_integer() else float(value)

    def applies(self, answers: dict[str, Any]) -> bool:
        return self.depends_on is None or self.depends_on.holds(answers)

    @property
    def relies_on(self) -> list[str]:
        """Keys of the fields this one depends on: its condition's field, then those it is
        based on."""
        keys = [self.depends_on.field] if self.depends_on is not None else []
        return list(dict.fromkeys([*keys, *self.based_on]))


def _pick(value: Any, options: list[str], label: str) -> str:
    if not isinstance(value, str):
        raise InvalidAnswer(f"{label} takes one of the offered options")
    wanted = clean_text(value).casefold()
    for option in options:
        if option.casefold() == wanted:
            return option
    raise InvalidAnswer(f"“{clean_text(value)[:80]}” is not one of the options for {label}")


def _split(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part for part in re.split(r"\s*[,;\n]\s*", value) if part]
    return [value]


TRUE_WORDS = {"yes", "y", "true", "1", "oui", "ja", "yes please", "sure", "correct"}
FALSE_WORDS = {"no", "n", "false", "0", "non", "nein", "no thanks", "none"}


def _boolean(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = clean_text(value).casefold().rstrip(".!")
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise InvalidAnswer(f"{label} takes yes or no")


def normalize_options(options: list[Any]) -> list[str]:
    """Offerable options: text, trimmed, at most 80 characters, distinct (ignoring case), at most 8."""
    seen: set[str] = set()
    result = []
    for option in options:
        if not isinstance(option, str):
            continue
        text = clean_text(option)
        if not text or len(text) > MAX_OPTION_LENGTH or text.casefold() in seen:
            continue
        seen.add(text.casefold())
        result.append(text)
    return result[:MAX_OPTIONS]


class Blueprint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    fields: list[BlueprintField] = Field(min_length=1, max_length=60)

    @model_validator(mode="after")
    def _keys_and_dependencies(self) -> Blueprint:
        keys: list[str] = []
        for field in self.fields:
            if field.key in keys:
                raise ValueError(f"two fields share the key “{field.key}”")
            keys.append(field.key)
        for field in self.fields:
            for target in field.based_on:
                if target == field.key:
                    raise ValueError(
                        f"field “{field.key}” is based on “{target}”, itself:"
                        " a field cannot be based on itself"
                    )
                if target not in keys:
                    raise ValueError(
                        f"field “{field.key}” is based on “{target}”, which is not a field of this blueprint"
                    )
        # Before the order of the fields: a cycle is the real problem, and "a later field"
        # would hide it (one of the fields in a cycle always depends on a later one).
        graph = {
            field.key: [target for target in field.relies_on if target in keys and target != field.key]
            for field in self.fields
        }
        cycle = _cycle(graph)
        if cycle:
            steps = ", ".join(f"{field} depends on {target}" for field, target in itertools.pairwise(cycle))
            raise ValueError(f"field “{cycle[0]}” is in a cycle of dependencies: {steps}")
        earlier: set[str] = set()
        for field in self.fields:
            if field.depends_on is not None and field.depends_on.field not in earlier:
                target = field.depends_on.field
                raise ValueError(f"field “{field.key}” depends on “{target}”, which is not an earlier field")
            for target in field.based_on:
                if target not in earlier:
                    raise ValueError(
                        f"field “{field.key}” is based on “{target}”, a later field:"
                        " a field is based only on fields asked before it"
                    )
            earlier.add(field.key)
        return self

    def field(self, key: str) -> BlueprintField | None:
        return next((field for field in self.fields if field.key == key), None)

    @property
    def fewest_questions(self) -> int:
        """How many questions are asked whatever the answers: those without a condition."""
        return sum(1 for field in self.fields if field.depends_on is None)

    def applicable(self, answers: dict[str, Any]) -> list[BlueprintField]:
        """The fields that apply given the answers so far, in order."""
        return [field for field in self.fields if field.applies(answers)]

    def next_field(self, answers: dict[str, Any]) -> BlueprintField | None:
        """The first applicable field without an answer: what to ask next."""
        return next((field for field in self.applicable(answers) if field.key not in answers), None)

    def dependents(self, key: str) -> list[str]:
        """Keys of fields that depend on `key` (a condition on it, or based on it), directly
        or through others, in the blueprint's order."""
        found: list[str] = []
        frontier = {key}
        # One pass is enough: a field depends only on earlier ones (see the validator).
        for field in self.fields:
            if frontier.intersection(field.relies_on):
                found.append(field.key)
                frontier.add(field.key)
        return found

    def answer_changed(self, answers: dict[str, Any], key: str, value: Any) -> AnswerChange:
        """The answers once `key` is given `value`, and what that clears.

        The same value again changes nothing. A new one clears every answer that depends on
        `key`, directly or through others, to be asked again; an answer whose condition is
        now answered and false is removed instead (it will not be asked).
        """
        if key in answers and same_answer(answers[key], value):
            return AnswerChange(answers=dict(answers), changed=False)
        dependents = set(self.dependents(key))
        after = self.prune({**{k: v for k, v in answers.items() if k not in dependents}, key: value})
        cleared = [field for field in self.fields if field.key in answers and field.key not in after]
        removed = [
            field.key
            for field in cleared
            if field.depends_on is not None and field.depends_on.field in after and not field.applies(after)
        ]
        return AnswerChange(
            answers=after,
            changed=True,
            asked_again=[field.key for field in cleared if field.key not in removed],
            removed=removed,
        )

    def prune(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Answers of fields that still apply (a changed answer can make others moot)."""
        kept: dict[str, Any] = {}
        for field in self.fields:
            if field.key in answers and field.applies(kept):
                kept[field.key] = answers[field.key]
        return kept

    def labels(self, keys: list[str]) -> list[str]:
        """The labels of fields, by key (a key the blueprint lacks stands for itself)."""
        return [field.label if (field := self.field(key)) else key for key in keys]

    def extraction_schema(self) -> dict[str, Any]:
        """JSON Schema for structured output: any subset of the fields, each of its own type."""
        properties: dict[str, Any] = {}
        for field in self.fields:
            if field.type is FieldType.SINGLE_SELECT:
                schema: dict[str, Any] = {"type": "string"}
            elif field.type is FieldType.MULTI_SELECT:
                schema = {"type": "array", "items": {"type": "string"}}
            elif field.type is FieldType.NUMBER:
                schema = {"type": "number"}
            elif field.type is FieldType.BOOLEAN:
                schema = {"type": "boolean"}
            else:
                schema = {"type": "string"}
            properties[field.key] = {**schema, "description": field.label}
        return {"type": "object", "properties": properties, "additionalProperties": False}


@dataclass(frozen=True)
class AnswerChange:
    """What giving one field a new answer does to the answers (Blueprint.answer_changed)."""

    answers: dict[str, Any]
    changed: bool
    # Keys of the answers cleared because they depended on the changed one: asked again.
    asked_again: list[str] = dataclass_field(default_factory=list)
    # Keys of the answers cleared because their field no longer applies.
    removed: list[str] = dataclass_field(default_factory=list)


def same_answer(left: Any, right: Any) -> bool:
    """Whether two stored answers of a field say the same (the order of chosen options aside)."""
    if isinstance(left, list) and isinstance(right, list):
        return set(map(str, left)) == set(map(str, right))
    return isinstance(left, bool) == isinstance(right, bool) and bool(left == right)


def _cycle(graph: dict[str, list[str]]) -> list[str]:
    """A cycle of the graph as the path that closes it (["a", "b", "a"]), or [] if none."""
    finished: set[str] = set()
    for start in graph:
        if start in finished:
            continue
        path = [start]
        pending = [iter(graph[start])]
        while pending:
            following = next(pending[-1], None)
            if following is None:
                finished.add(path.pop())
                pending.pop()
            elif following in path:
                return [*path[path.index(following) :], following]
            elif following not in finished:
                path.append(following)
                pending.append(iter(graph[following]))
    return []
