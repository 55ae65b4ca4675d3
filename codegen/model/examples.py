"""Few-shot examples: what the template generator writes for a file, shown to the model.

The templates render the target's default skeleton for the same spec, so the example of
`app/main.py` is a working `app/main.py` for these very requirements; a path the skeleton
does not have gets the most similar rendered file (same kind of file, same folder, a test
for a test). Rendered once per writer, on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import PurePosixPath

from codegen.plans import Plan
from codegen.spec import Options, ServiceSpec
from codegen.targets import Target

logger = logging.getLogger(__name__)


def is_test_path(path: str) -> bool:
    """A file of the project's tests: under tests/ or named test_*.py / *_test.py."""
    pure = PurePosixPath(path)
    return "tests" in pure.parts[:-1] or pure.name.startswith("test_") or pure.stem.endswith("_test")


class Examples:
    def __init__(self, spec: ServiceSpec, options: Options, target: Target) -> None:
        self.spec = spec
        self.options = options
        self.target = target
        self._skeleton: Plan | None = None
        self._files: Mapping[str, str] | None = None
        self._docs: Mapping[str, str] | None = None

    @property
    def skeleton(self) -> Plan:
        if self._skeleton is None:
            self._skeleton = self.target.skeleton(self.spec, self.options)
        return self._skeleton

    def files(self) -> Mapping[str, str]:
        if self._files is None:
            try:
                self._files = dict(self.target.render(self.spec, self.options, self.skeleton))
            except Exception:
                # The examples only help the model: a template that fails leaves it without.
                logger.exception("rendering the few-shot examples of %s failed", self.target.key)
                self._files = {}
        return self._files

    def docs(self) -> Mapping[str, str]:
        if self._docs is None:
            try:
                self._docs = dict(self.target.render_docs(self.spec, self.skeleton, self.files()))
            except Exception:
                logger.exception("rendering the few-shot docs of %s failed", self.target.key)
                self._docs = {}
        return self._docs

    def for_path(self, path: str) -> tuple[str, str] | None:
        """The example for `path`: (the example's path, its content), or None."""
        docs = self.docs() if PurePosixPath(path).suffix.lower() == ".md" else {}
        for rendered in (docs, self.files()):
            if path in rendered:
                return path, rendered[path]
        pure = PurePosixPath(path)
        if not pure.suffix:
            return None  # Dockerfile, Makefile, .gitignore: nothing else is like them
        ranked = [
            (
                is_test_path(candidate) == is_test_path(path),
                PurePosixPath(candidate).parent == pure.parent,
                position,
                candidate,
            )
            for position, candidate in enumerate([*docs, *self.files()])
            if PurePosixPath(candidate).suffix == pure.suffix
            and PurePosixPath(candidate).name != "__init__.py"
        ]
        if not ranked:
            return None
        # The best match first; among equals, the earlier file of the skeleton.
        best = max(ranked, key=lambda row: (row[0], row[1], -row[2]))[3]
        content = docs.get(best) if best in docs else self.files()[best]
        return (best, content) if content else None
