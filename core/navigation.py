"""Links between apps, registered by the app that owns the page: lower layers never name an
upper layer's URLs.

Each app registers in its `AppConfig.ready()`:
- its sections of the tenant portal's menu (`register_section`), and
- the next steps it offers on another app's objects (`register_next_step`), e.g. the workflows
  app's "Generate workflow" on a finished conversation.
The portal shell and the pages read what is registered; an app that is not installed simply
contributes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class Section:
    """A menu entry of the tenant portal: `url_name` (namespaced) is reversed with the slug."""

    label: str
    url_name: str
    order: int


@dataclass(frozen=True)
class NextStep:
    """A link offered on an object of another app, when `applies(object)` holds."""

    label: str
    url: Callable[[Any], str]
    applies: Callable[[Any], bool]
    order: int


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    active: bool = False


_sections: dict[str, Section] = {}
_next_steps: defaultdict[str, dict[str, NextStep]] = defaultdict(dict)


def register_section(*, label: str, url_name: str, order: int) -> None:
    """Add a section to the tenant menu (again with the same `url_name`: replaced)."""
    _sections[url_name] = Section(label, url_name, order)


def register_next_step(
    subject: str,
    *,
    label: str,
    url: Callable[[Any], str],
    applies: Callable[[Any], bool] = lambda _object: True,
    order: int = 100,
) -> None:
    """Offer a link on every object of `subject` (e.g. "conversation") for which `applies` holds."""
    _next_steps[subject][label] = NextStep(label, url, applies, order)


def tenant_sections(*, tenant_slug: str, current: str | None) -> list[Link]:
    """The tenant menu, in order; `current` is the namespaced name of the page being shown."""
    sections = sorted(_sections.values(), key=lambda section: section.order)
    return [
        Link(
            section.label,
            reverse(section.url_name, kwargs={"tenant_slug": tenant_slug}),
            active=section.url_name == current,
        )
        for section in sections
    ]


def next_steps(subject: str, target: Any) -> list[Link]:
    """The links other apps offer on `target`, an object of `subject`, in order."""
    steps = sorted(_next_steps[subject].values(), key=lambda step: step.order)
    return [Link(step.label, step.url(target)) for step in steps if step.applies(target)]
