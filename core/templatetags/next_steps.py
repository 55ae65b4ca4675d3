"""The next steps other apps register on an object (core.navigation), for the page that shows it.

A page of a lower app lists what upper apps offer on its object without naming their URLs:
`{% include "partials/next_steps.html" with subject="workflow" target=workflow %}`.
"""

from __future__ import annotations

from typing import Any

from django import template

from core import navigation

register = template.Library()


@register.simple_tag
def next_steps(subject: str, target: Any) -> list[navigation.Link]:
    """The links registered for `subject` that apply to `target`, in order."""
    return navigation.next_steps(subject, target)
