"""The types a workflow document has before it is parsed into the DSL's models."""

from __future__ import annotations

from typing import Any, TypeAlias

from workflows.dsl.json_values import JSONValue

# A workflow document in its JSON form: the object users edit, import and export, and that
# drafts, versions and proposals store. Only its being an object is known: its values are
# what the user (or the model) wrote, so readers check each one before using it, and only
# parsing says whether it is a workflow.
WorkflowDocument: TypeAlias = dict[str, Any]

# A document as it arrives, not yet known to be an object: JSON text or bytes (a str is read
# as JSON text, never as a JSON string), or decoded JSON of any shape.
RawDocument: TypeAlias = str | bytes | bytearray | memoryview | JSONValue
