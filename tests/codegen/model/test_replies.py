"""Reading the model's replies: fences, JSON objects, lenient plans, review issues."""

from __future__ import annotations

import pytest

from codegen.findings import FileFinding
from codegen.model.replies import (
    UnreadableReply,
    file_content,
    json_object,
    plan_from_data,
    review_findings,
    unwrap_fence,
)
from codegen.plans import Endpoint, PlannedFile


def test_one_fence_around_the_whole_reply_is_removed() -> None:
    reply = "```python\nimport os\n\nprint(os.sep)\n```"
    assert file_content(reply, path="app/main.py", language="python") == "import os\n\nprint(os.sep)\n"


def test_a_fence_with_surrounding_blank_lines_and_no_language_is_removed() -> None:
    reply = "\n\n```\nx = 1\n```\n\n"
    assert file_content(reply, path="app/x.py", language="python") == "x = 1\n"


def test_a_reply_without_a_fence_is_kept_as_it_is_with_a_final_newline() -> None:
    assert file_content("  x = 1", path="app/x.py", language="python") == "  x = 1\n"
    assert file_content("x = 1\n\n", path="app/x.py", language="python") == "x = 1\n\n"


def test_prose_around_a_fence_is_kept_for_the_checks_to_find() -> None:
    reply = "Here it is:\n```python\nx = 1\n```"
    assert file_content(reply, path="app/x.py", language="python") == reply + "\n"


def test_a_markdown_file_that_starts_and_ends_with_code_blocks_keeps_them() -> None:
    readme = "```bash\nmake run\n```\n\nThen test it:\n\n```bash\nmake test\n```"
    assert unwrap_fence(readme, path="README.md", language="markdown") == readme


def test_a_markdown_reply_fenced_as_markdown_is_unwrapped_with_its_inner_blocks() -> None:
    reply = "```markdown\n# Orders\n\n```bash\nmake run\n```\n```"
    assert unwrap_fence(reply, path="README.md", language="markdown") == "# Orders\n\n```bash\nmake run\n```"


def test_an_empty_reply_is_refused_except_for_a_package_marker() -> None:
    with pytest.raises(UnreadableReply, match="empty"):
        file_content("```python\n\n```", path="app/main.py", language="python")
    with pytest.raises(UnreadableReply):
        file_content("  \n", path="README.md", language="markdown")
    assert file_content("", path="app/__init__.py", language="python") == ""


def test_a_json_object_is_read_from_a_fence_or_prose() -> None:
    assert json_object('{"a": 1}') == {"a": 1}
    assert json_object('Sure:\n```json\n{"a": [1, 2]}\n```') == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("I cannot plan this.", "not a JSON object"),
        ("[1, 2]", "not an object"),
        ('{"a": ', "not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_replies_that_are_not_json_objects_say_why(reply: str, reason: str) -> None:
    with pytest.raises(UnreadableReply, match=reason):
        json_object(reply)


def test_a_plan_is_read_leniently_and_its_docs_set_apart() -> None:
    data = {
        "files": [
            {
                "path": "app/main.py",
                "purpose": "API",
                "language": "python",
                "depends_on": ["app/models.py", 3],
            },
            {"path": "app/models.py"},
            {"purpose": "no path"},
            "not a file",
            {"path": "README.md", "purpose": "Readme", "language": "markdown", "depends_on": []},
        ],
        "endpoints": [{"method": "GET", "path": "/health", "summary": "ok"}, {"method": "GET"}],
        "notes": 12,
    }
    plan = plan_from_data(data, doc_paths={"README.md", "API.md"})
    assert plan.files == (
        PlannedFile("app/main.py", "API", "python", ("app/models.py",)),
        PlannedFile("app/models.py", "", "", ()),
    )
    assert plan.docs == (PlannedFile("README.md", "Readme", "markdown", ()),)
    assert plan.endpoints == (Endpoint("GET", "/health", "ok"),)
    assert plan.notes == ""


def test_a_plan_that_is_not_an_object_has_no_files() -> None:
    assert plan_from_data(["app/main.py"], doc_paths=set()).files == ()


def test_review_issues_about_files_of_the_project_become_findings() -> None:
    data = {
        "issues": [
            {"path": "app/main.py", "message": "imports get_order, which app/service.py does not define"},
            {"path": "app/ghost.py", "message": "not a file of the project"},
            {"path": "app/main.py", "message": "   "},
            {"path": "app/service.py", "message": "x" * 5000},
            "nonsense",
        ]
    }
    findings = review_findings(data, paths={"app/main.py", "app/service.py"})
    assert findings[0] == FileFinding(
        "app/main.py", "review", "imports get_order, which app/service.py does not define"
    )
    assert [finding.path for finding in findings] == ["app/main.py", "app/service.py"]
    assert len(findings[1].message) == 600
    assert review_findings({"issues": "none"}, paths={"app/main.py"}) == []
