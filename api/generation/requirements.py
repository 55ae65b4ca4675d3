"""How seed 002's request becomes what service generation takes.

codegen starts from a requirements document in the interview's JSON download format
(`{title, blueprint, requirements: {key: {label, value}}}`, what the portal and
`manage.py codegen generate` give it). The seed sends its collected requirements flat
(`{"service_type": "vFirewall", "vendor": "Cisco", …}`); each key becomes one requirement,
labelled from its name. A body that already is a download is taken as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_TITLE = "Generated service"


def is_download(requirements: Mapping[str, Any]) -> bool:
    """Whether `requirements` is an interview's JSON download rather than seed 002's flat object."""
    return isinstance(requirements.get("requirements"), Mapping)


def label_of(key: str) -> str:
    """A requirement's label from its key: `pricing_model` → `Pricing model`."""
    words = key.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() or key


def title_of(requirements: Mapping[str, Any]) -> str:
    """The service's name when the caller gave none: the seed's service type, if any."""
    service_type = requirements.get("service_type")
    if isinstance(service_type, str) and service_type.strip():
        return f"{service_type.strip()} service"[:200]
    return DEFAULT_TITLE


def requirements_document(requirements: Mapping[str, Any], *, title: str | None) -> dict[str, Any]:
    """The requirements in the download format codegen reads; `title`, when given, names it."""
    if is_download(requirements):
        document = dict(requirements)
        if title:
            document["title"] = title
        return document
    return {
        "title": title or title_of(requirements),
        "blueprint": "",
        "requirements": {
            str(key): {"label": label_of(str(key)), "value": value} for key, value in requirements.items()
        },
    }


def target_key(*, language: str, framework: str, target: str | None) -> str:
    """The codegen target the options name: `target` itself, or `<language>-<framework>`."""
    if target:
        return target.strip().lower()
    return f"{language.strip().lower()}-{framework.strip().lower()}"
