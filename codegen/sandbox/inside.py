"""The first program in the sandbox: unpack the project, run the command, report back.

It runs on the sandbox's interpreter in isolated mode (`python -I -S -c <this file>`), as
the unprivileged sandbox user, in the sandbox's working folder (the tmpfs workspace), so it
may use the standard library only. Arguments:

    ARCHIVE_FD REPORT_FD JUNIT_PATH JUNIT_LIMIT -- COMMAND...

It unpacks the tar on ARCHIVE_FD (written by `codegen.sandbox.project_archive`), runs
COMMAND with nothing but its output inherited (no other descriptor, stdin from /dev/null),
then writes to REPORT_FD one JSON line ({"returncode": n} or {"signal": n} or {"error": …})
followed by at most JUNIT_LIMIT bytes of the JUnit file. The runner treats all of it as
untrusted: the command runs as the same user and could tamper with this process.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath
from typing import IO

CHUNK = 1 << 16


class UnsafeMember(ValueError):
    pass


def main(arguments: list[str]) -> int:
    archive_fd, report_fd, junit_path, junit_limit = (
        int(arguments[0]),
        int(arguments[1]),
        arguments[2],
        int(arguments[3]),
    )
    command = arguments[5:]
    with os.fdopen(report_fd, "wb") as report:
        try:
            with os.fdopen(archive_fd, "rb") as archive:
                unpack(archive, Path.cwd())
        except (OSError, tarfile.TarError, UnsafeMember) as error:
            _write_header(report, {"error": f"could not unpack the project: {error}"})
            return 70
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, close_fds=True)
        except OSError as error:
            _write_header(report, {"error": f"cannot run {command[0]!r}: {error.strerror or error}"})
            return 127
        returncode = process.wait()
        if returncode < 0:
            _write_header(report, {"signal": -returncode})
        else:
            _write_header(report, {"returncode": returncode})
        _copy_junit(junit_path, report, junit_limit)
    return returncode if returncode >= 0 else 128 - returncode


def unpack(archive: IO[bytes], destination: Path) -> None:
    with tarfile.open(fileobj=archive, mode="r|") as members:
        for member in members:
            target = destination / _safe_name(member.name)
            if member.isdir():
                target.mkdir(mode=0o755, parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                source = members.extractfile(member)
                if source is None:
                    raise UnsafeMember(f"{member.name} has no content")
                with target.open("xb") as written:
                    while chunk := source.read(CHUNK):
                        written.write(chunk)
                target.chmod(0o755 if member.mode & 0o100 else 0o644)
            elif member.issym():
                link = PurePosixPath(member.linkname)
                resolved = os.path.normpath(PurePosixPath(member.name).parent / link)
                if link.is_absolute() or resolved == ".." or resolved.startswith("../"):
                    raise UnsafeMember(f"{member.name} links outside the project")
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                target.symlink_to(member.linkname)
            else:
                raise UnsafeMember(f"{member.name} is neither a file, a folder nor a symlink")


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UnsafeMember(f"unsafe path in the archive: {name!r}")
    return str(path)


def _write_header(report: IO[bytes], header: dict[str, object]) -> None:
    report.write(json.dumps(header).encode() + b"\n")
    report.flush()


def _copy_junit(path: str, report: IO[bytes], limit: int) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return  # the command wrote no report
    with os.fdopen(descriptor, "rb") as junit:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return  # a fifo or a device would block or never end
        report.write(junit.read(limit))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
