"""Per-test results from the JUnit XML a sandboxed pytest wrote.

The XML comes from generated code that ran in the sandbox, so it is hostile input: it is
parsed with defusedxml (no DTD, no entities, nothing external), refused over a size, and
anything that is not pytest's shape (testsuites/testsuite/testcase with failure, error or
skipped children) is simply not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

Outcome = Literal["passed", "failed", "error", "skipped"]

MAX_XML_CHARS = 4_000_000
MAX_CASES = 5_000
MESSAGE_LIMIT = 4_000


class JunitError(ValueError):
    """The report is not JUnit XML we accept (malformed, too large, a DTD or entities)."""


@dataclass(frozen=True)
class CaseResult:
    name: str
    classname: str
    outcome: Outcome
    duration_ms: int
    message: str  # the failure, error or skip reason and its text, at most MESSAGE_LIMIT chars


def parse_junit(xml: str) -> list[CaseResult]:
    """The test cases of a JUnit XML report, in document order; JunitError when unacceptable."""
    if len(xml) > MAX_XML_CHARS:
        raise JunitError(f"the JUnit report is {len(xml)} characters, over {MAX_XML_CHARS}")
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise JunitError(f"the JUnit report declares a DTD or entities: {error}") from error
    except (ParseError, ValueError) as error:
        raise JunitError(f"the JUnit report is not well-formed XML: {error}") from error
    if root.tag not in ("testsuites", "testsuite"):
        raise JunitError(f"the JUnit report's root is <{root.tag[:40]}>, not <testsuites> or <testsuite>")
    cases: list[CaseResult] = []
    for case in root.iter("testcase"):
        if len(cases) >= MAX_CASES:
            break
        cases.append(_case_result(case))
    return cases


def _case_result(case: Element) -> CaseResult:
    outcome: Outcome = "passed"
    detail: Element | None = None
    # pytest writes at most one of these per case; when a failing test also errs in teardown
    # it writes two cases, so the first child that says something wins.
    for tag, meaning in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        detail = case.find(tag)
        if detail is not None:
            outcome = meaning  # type: ignore[assignment]
            break
    return CaseResult(
        name=case.get("name", "")[:500],
        classname=case.get("classname", "")[:500],
        outcome=outcome,
        duration_ms=_milliseconds(case.get("time", "")),
        message=_message(detail) if detail is not None else "",
    )


def _milliseconds(seconds: str) -> int:
    try:
        value = float(seconds)
    except ValueError:
        return 0
    if not 0 <= value < 10**9:  # also refuses nan and inf
        return 0
    return round(value * 1000)


def _message(detail: Element) -> str:
    summary = (detail.get("message") or "").strip()
    text = (detail.text or "").strip()
    # pytest's message is often the first line of its text: do not say it twice.
    message = f"{summary}\n\n{text}" if summary and text and not text.startswith(summary) else text or summary
    return _shorten(message, MESSAGE_LIMIT)


def _shorten(text: str, limit: int) -> str:
    """Head and tail of a long text: a traceback's end says what failed, its start where."""
    if len(text) <= limit:
        return text
    marker = "\n…\n"
    head = (limit - len(marker)) // 2
    tail = limit - len(marker) - head
    return text[:head] + marker + text[-tail:]
