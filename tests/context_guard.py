"""No page may hide what a context processor gives every template.

A view's context key named like a context processor's (`messages`, `user`, `request`,
`perms`, `csrf_token`, `portal_nav`, …) silently replaces it in every template of the page,
`base.html` included: a chat's messages once showed up as the flash notices above the title.
Every template rendered under the test suite is checked (Django sends `template_rendered`
in tests), so such a key fails the test that renders it.
"""

from __future__ import annotations

from typing import Any

from django.template.context import RequestContext


class ContextShadowing(AssertionError):
    pass


def refuse_shadowing(sender: Any, template: Any, context: Any, **kwargs: Any) -> None:
    # Django keeps the processors' layer at this index of the context's stack once bound.
    index = getattr(context, "_processors_index", None)
    if not isinstance(context, RequestContext) or context.template is None or index is None:
        return
    provided = set(context.dicts[index])
    for layer in context.dicts[index + 1 :]:
        shadowed = provided & set(layer)
        if shadowed:
            raise ContextShadowing(
                f"{template.name}: context key(s) {sorted(shadowed)} hide what a context "
                "processor gives every template; name them differently"
            )
