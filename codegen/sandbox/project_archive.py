"""The generated project, packed for the sandbox: a tar in memory, checked on the way in.

The sandbox never sees the project's folder on the host. Its files travel as a tar through
an inherited file descriptor (a memfd) and are unpacked onto a size-limited tmpfs inside the
sandbox, which is then the only place the tests can write. That is how a test that fills the
disk fills at most that tmpfs: nothing it writes reaches the host's disks, and whatever
permissions the pipeline's temp folder has do not matter to the sandbox's unprivileged user.

Packing refuses what should never be in a generated project: a symlink that leads outside
it (at /etc/shadow, at SCE's data folder), devices, fifos, sockets, and more than the
workspace can hold.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path


class ProjectRefused(ValueError):
    """The project folder holds something the sandbox will not take."""


MAX_ENTRIES = 20_000


def pack_project(project: Path, *, max_bytes: int) -> int:
    """A memfd holding the project as an uncompressed tar, positioned at its start.

    The caller owns (and closes) the descriptor. Symlinks that stay inside the project are
    kept, rewritten relative; anything else refused raises ProjectRefused.
    """
    root = project.resolve()
    if not root.is_dir():
        raise ProjectRefused(f"{project} is not a folder")
    descriptor = os.memfd_create("sce-project", 0)
    try:
        with (
            io.FileIO(descriptor, "wb", closefd=False) as buffer,
            tarfile.open(fileobj=buffer, mode="w|", format=tarfile.PAX_FORMAT) as archive,
        ):
            _add_tree(archive, root, max_bytes=max_bytes)
        os.lseek(descriptor, 0, os.SEEK_SET)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _add_tree(archive: tarfile.TarFile, root: Path, *, max_bytes: int) -> None:
    total = 0
    entries = 0
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            entries += 1
            if entries > MAX_ENTRIES:
                raise ProjectRefused(f"the project has more than {MAX_ENTRIES} files and folders")
            mode = path.lstat().st_mode
            info = tarfile.TarInfo(relative)
            info.mtime = 0
            if stat.S_ISLNK(mode):
                info.type = tarfile.SYMTYPE
                info.linkname = _inside_link(path, root, relative)
                info.mode = 0o777
                archive.addfile(info)
            elif stat.S_ISDIR(mode):
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            elif stat.S_ISREG(mode):
                info.mode = 0o755 if mode & stat.S_IXUSR else 0o644
                with path.open("rb") as content:
                    info.size = os.fstat(content.fileno()).st_size
                    total += info.size
                    if total > max_bytes:
                        raise ProjectRefused(f"the project is larger than the sandbox's {max_bytes} bytes")
                    archive.addfile(info, content)
            else:
                raise ProjectRefused(f"{relative} is not a regular file, folder or symlink")


def _inside_link(path: Path, root: Path, relative: str) -> str:
    target = path.readlink()
    resolved = Path(os.path.realpath(path))
    if resolved != root and root not in resolved.parents:
        raise ProjectRefused(f"{relative} is a symlink to {target}, outside the project")
    return os.path.relpath(resolved, path.parent.resolve())
