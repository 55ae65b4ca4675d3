from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from core.rendering import markdown_html

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    """Markdown (from the model, or built from users' answers) as sanitized HTML."""
    return markdown_html(text or "")
