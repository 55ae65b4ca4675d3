"""JUnit XML from the sandbox is parsed into per-test results, and hostile XML is refused."""

from __future__ import annotations

import pytest

from codegen.sandbox.junit import MAX_XML_CHARS, MESSAGE_LIMIT, CaseResult, JunitError, parse_junit

PYTEST_REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests">
  <testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="0.31">
    <testcase classname="tests.test_items" name="test_create" time="0.012" />
    <testcase classname="tests.test_items" name="test_wrong" time="0.250">
      <failure message="AssertionError: assert 200 == 201">def test_wrong():
&gt;       assert response.status_code == 201
E       AssertionError: assert 200 == 201</failure>
    </testcase>
    <testcase classname="tests.test_items" name="test_later" time="0.000">
      <skipped type="pytest.skip" message="not today">tests/test_items.py:20: not today</skipped>
    </testcase>
    <testcase classname="tests.test_items" name="test_erroring" time="0.001">
      <error message="failed on setup with &quot;RuntimeError: fixture broke&quot;"
        >RuntimeError: fixture broke</error>
    </testcase>
  </testsuite>
</testsuites>
"""


def test_it_reads_each_outcome_of_a_pytest_report() -> None:
    cases = parse_junit(PYTEST_REPORT)

    assert [(case.name, case.outcome, case.duration_ms) for case in cases] == [
        ("test_create", "passed", 12),
        ("test_wrong", "failed", 250),
        ("test_later", "skipped", 0),
        ("test_erroring", "error", 1),
    ]
    assert cases[0] == CaseResult(
        name="test_create", classname="tests.test_items", outcome="passed", duration_ms=12, message=""
    )
    assert cases[1].message.startswith("AssertionError: assert 200 == 201\n\ndef test_wrong():")
    assert cases[1].message.endswith("E       AssertionError: assert 200 == 201")
    assert cases[2].message == "not today\n\ntests/test_items.py:20: not today"
    assert "fixture broke" in cases[3].message


def test_a_bare_testsuite_root_is_accepted() -> None:
    xml = '<testsuite name="pytest"><testcase classname="a" name="test_b" time="1.5"/></testsuite>'

    assert parse_junit(xml) == [
        CaseResult(name="test_b", classname="a", outcome="passed", duration_ms=1500, message="")
    ]


def test_a_long_message_keeps_its_start_and_its_end() -> None:
    text = "start " + "x" * 20_000 + " the end"
    xml = f'<testsuites><testcase name="t"><failure message="boom">{text}</failure></testcase></testsuites>'

    message = parse_junit(xml)[0].message

    assert len(message) == MESSAGE_LIMIT
    assert message.startswith("boom\n\nstart ")
    assert message.endswith(" the end")
    assert "\n…\n" in message


@pytest.mark.parametrize("time", ["", "abc", "nan", "inf", "-1"])
def test_a_nonsense_duration_counts_as_zero(time: str) -> None:
    xml = f'<testsuites><testcase name="t" time="{time}"/></testsuites>'

    assert parse_junit(xml)[0].duration_ms == 0


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<testsuites><testcase name="&lol3;"/></testsuites>"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuites><testcase name="&secret;"/></testsuites>"""


@pytest.mark.parametrize(
    ("xml", "complaint"),
    [
        (LAUGHS, "DTD or entities"),
        (EXTERNAL, "DTD or entities"),
        ('<!DOCTYPE testsuites SYSTEM "http://example.invalid/x.dtd"><testsuites/>', "DTD or entities"),
        ("<testsuites><testcase name='a'>", "not well-formed"),
        ("", "not well-formed"),
        ("<html><body>no</body></html>", "not <testsuites> or <testsuite>"),
        ("<testsuites>" + " " * MAX_XML_CHARS + "</testsuites>", "characters, over"),
    ],
)
def test_hostile_or_broken_xml_is_refused(xml: str, complaint: str) -> None:
    with pytest.raises(JunitError, match=complaint):
        parse_junit(xml)


def test_a_report_with_too_many_cases_is_cut() -> None:
    xml = "<testsuites>" + '<testcase name="t"/>' * 6_000 + "</testsuites>"

    assert len(parse_junit(xml)) == 5_000
