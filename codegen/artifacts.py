"""Generated files in Django's storage (STORAGES["codegen"]: the file system by default, any
django-storages backend in production), and the project as a zip.

Storage names never contain a generated path (`tenant-1/generation-2/file-3/v1`): what the
model chose as a path is only ever a zip entry name, checked again when the zip is written.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from codegen.checks.paths import safe_relative_path
from codegen.models import FileVersion, GeneratedFile, Generation

# Every entry a regular file, rw-r--r--: no symlinks, no device files, whatever the name.
REGULAR_FILE = 0o100644 << 16
# Timestamps in a zip are local times without a zone: one fixed date makes downloads of the
# same files byte-identical.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def storage() -> Storage:
    return storages["codegen"]


def digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def version_name(file: GeneratedFile, number: int) -> str:
    return f"tenant-{file.tenant_id}/generation-{file.generation_id}/file-{file.pk}/v{number}"


def store(name: str, content: str) -> str:
    """Write `content` under `name`, replacing what a dead run may have left there."""
    backend = storage()
    if backend.exists(name):
        backend.delete(name)
    return backend.save(name, ContentFile(content.encode()))


def discard(name: str) -> None:
    backend = storage()
    if backend.exists(name):
        backend.delete(name)


def read_version(version: FileVersion) -> str:
    with storage().open(version.storage_name, "rb") as handle:
        return bytes(handle.read()).decode("utf-8", errors="replace")


def latest_contents(generation: Generation) -> dict[str, str]:
    """Path -> the latest version's content of every file that has one, in plan order."""
    from codegen import selectors

    latest = selectors.latest_versions(generation)
    files = selectors.files_of(generation)
    return {file.path: read_version(latest[file.path]) for file in files if file.path in latest}


def zip_files(files: Mapping[str, str], *, root: str) -> bytes:
    """A zip of `files` under one top folder; entries whose path is unsafe are left out."""
    folder = safe_relative_path(root) or "service"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            safe = safe_relative_path(path)
            if safe is None:
                continue
            entry = zipfile.ZipInfo(f"{folder}/{safe}", date_time=ZIP_DATE)
            entry.external_attr = REGULAR_FILE
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content.encode())
    return buffer.getvalue()


def zip_generation(generation: Generation) -> bytes:
    """The latest version of every file of a generation, as a zip under `<package>/`."""
    from codegen.spec import snake_case

    return zip_files(latest_contents(generation), root=snake_case(generation.title))


def write_tree(files: Mapping[str, str], root: Path) -> list[str]:
    """Write `files` under `root` (for the sandbox or the command line's --out); the paths
    written. Unsafe paths are skipped, and nothing is written through a symlink."""
    written = []
    base = root.resolve()
    for path, content in files.items():
        safe = safe_relative_path(path)
        if safe is None:
            continue
        target = base / safe
        if not target.resolve().is_relative_to(base):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        target.write_text(content, encoding="utf-8")
        written.append(safe)
    return written
