"""A project's requirements.txt against what its code imports: exactly those distributions.

Version pins, extras, environment markers, comments and pip options are ignored; names are
compared in their PEP 503 normal form (PyYAML, pyyaml and py_yaml are one distribution).
A distribution imported but not listed is an error (the service will not install); one
listed but never imported, nor named by a deployment file (uvicorn in a Dockerfile's CMD),
is a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from codegen.findings import FileFinding

_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(?:[<>=!~;@(]|$)")


@dataclass(frozen=True)
class ListedRequirement:
    name: str  # normalized
    line: int
    text: str


@dataclass(frozen=True)
class RequirementUsage:
    required: Mapping[str, list[str]]  # normalized distribution -> the files importing it
    optional: frozenset[str]  # imported only under `try: ... except ImportError`
    mentioned: frozenset[str] | set[str]  # normalized words of the deployment files


def normalized_name(name: str) -> str:
    """PEP 503: lower case, runs of -, _ and . as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The normalized distribution a requirement line names ("PyYAML==6.0" → "pyyaml"),
    or None for a line that names none (blank, a comment, a pip option, unreadable)."""
    text = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
    if not text or text.startswith(("#", "-")):
        return None
    match = _NAME.match(text)
    return normalized_name(match.group(1)) if match else None


def listed_requirements(text: str) -> tuple[list[ListedRequirement], list[tuple[int, str]]]:
    """The distributions `text` lists, and the lines that look like requirements but name
    none (line number, text)."""
    listed: list[ListedRequirement] = []
    unreadable: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        name = requirement_name(stripped)
        if name is None:
            unreadable.append((number, stripped[:80]))
        else:
            listed.append(ListedRequirement(name, number, stripped[:200]))
    return listed, unreadable


def requirement_findings(
    path: str, content: str | None, *, usage: RequirementUsage, sandbox_modules: Mapping[str, str]
) -> list[FileFinding]:
    """What is wrong with the requirements file at `path` (None: there is none)."""
    offered = _offered(sandbox_modules)
    if content is None:
        if not usage.required:
            return []
        wanted = ", ".join(offered.get(name, name) for name in sorted(usage.required))
        return [FileFinding(path, "missing_requirement", f"there is no {path}; the code imports {wanted}")]
    listed, unreadable = listed_requirements(content)
    findings = [
        FileFinding(path, "bad_requirement", f"`{text}` names no distribution", line=line, severity="warning")
        for line, text in unreadable
    ]
    listed_names = {requirement.name for requirement in listed}
    for distribution, importers in sorted(usage.required.items()):
        if distribution not in listed_names:
            findings.append(_missing(path, distribution, importers, sandbox_modules))
    seen: set[str] = set()
    for requirement in listed:
        problem = None
        if requirement.name in seen:
            problem = ("duplicate_requirement", f"{requirement.text} is listed twice")
        elif offered and requirement.name not in offered:
            choices = ", ".join(sorted(offered.values()))
            problem = (
                "unavailable_requirement",
                f"{requirement.text}: the sandbox does not offer it ({choices})",
            )
        elif not _is_used(requirement.name, usage, sandbox_modules):
            problem = (
                "unused_requirement",
                f"{requirement.text}: no file imports {offered.get(requirement.name, requirement.name)}",
            )
        seen.add(requirement.name)
        if problem is not None:
            findings.append(
                FileFinding(path, problem[0], problem[1], line=requirement.line, severity="warning")
            )
    return findings


def _missing(
    path: str, distribution: str, importers: list[str], sandbox_modules: Mapping[str, str]
) -> FileFinding:
    name = _offered(sandbox_modules).get(distribution, distribution)
    pinned = next(
        (
            value.strip()
            for value in sandbox_modules.values()
            if requirement_name(value) == distribution and "==" in value
        ),
        None,
    )
    shown = ", ".join(importers[:3]) + (" …" if len(importers) > 3 else "")
    add = f"; add `{pinned}`" if pinned else ""
    return FileFinding(path, "missing_requirement", f"{path} does not list {name}, which {shown} import{add}")


def _offered(sandbox_modules: Mapping[str, str]) -> dict[str, str]:
    """Normalized distribution -> its name as the sandbox spells it."""
    offered = {}
    for value in sandbox_modules.values():
        name = requirement_name(value)
        if name is not None:
            offered[name] = re.split(r"[\s\[<>=!~;@]", value.strip(), maxsplit=1)[0]
    return offered


def _is_used(distribution: str, usage: RequirementUsage, sandbox_modules: Mapping[str, str]) -> bool:
    if distribution in usage.required or distribution in usage.optional:
        return True
    modules = {
        normalized_name(module)
        for module, value in sandbox_modules.items()
        if requirement_name(value) == distribution
    }
    return bool(({distribution} | modules) & usage.mentioned)
