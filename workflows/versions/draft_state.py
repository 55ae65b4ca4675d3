"""What the draft is, said once: for the versions page, the code page and the header of the
Go file the draft compiles to, so that the three never disagree.

A changed draft carries the number publishing would give it (see workflows.services), so
its own version field says "3" while only versions 1 and 2 exist. A draft restored from
version 1 compiled as "version 3": true of what it would become, false of what it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workflows.models import Workflow, WorkflowVersion


@dataclass(frozen=True)
class DraftState:
    published: int  # the latest published version's number; 0 when none is
    changed: bool  # whether the draft differs from that version
    same_as: int | None = None  # an older version the draft is identical to (restored)

    @property
    def next_number(self) -> int:
        """The number publishing the draft gives it."""
        return self.published + 1

    @property
    def is_a_version(self) -> bool:
        """Whether the draft is exactly the latest version, and may be called by its number."""
        return self.published > 0 and not self.changed

    @property
    def header_label(self) -> str | None:
        """What the compiled file's header calls the draft; None: its own "version N" is true."""
        if self.is_a_version:
            return None
        publishing = f"not yet published (publishing makes it version {self.next_number})"
        if not self.published:
            return f"draft, {publishing}"
        if self.same_as is not None:
            return f"draft, the same as version {self.same_as}, {publishing}"
        return f"draft with changes since version {self.published}, {publishing}"

    @property
    def sentence(self) -> str:
        """The draft's state, as the pages say it."""
        if self.is_a_version:
            return f"The draft is version {self.published}, unchanged."
        publishing = f"not yet published: publishing makes it version {self.next_number}."
        if not self.published:
            return f"The draft is {publishing}"
        if self.same_as is not None:
            return f"The draft is the same as version {self.same_as}, {publishing}"
        return f"The draft has changes since version {self.published}, {publishing}"


def draft_state(workflow: Workflow, versions: Iterable[WorkflowVersion]) -> DraftState:
    """The state of `workflow`'s draft, given its versions newest first (selectors.versions_of)."""
    if not workflow.published_version:
        return DraftState(published=0, changed=True)
    if not workflow.has_changes:
        return DraftState(published=workflow.published_version, changed=False)
    draft = workflow.document
    for version in versions:
        # The draft carries its would-be number; a restored one is otherwise the very document.
        if (
            version.number < workflow.published_version
            and {
                **draft,
                "version": version.document.get("version"),
            }
            == version.document
        ):
            return DraftState(published=workflow.published_version, changed=True, same_as=version.number)
    return DraftState(published=workflow.published_version, changed=True)
