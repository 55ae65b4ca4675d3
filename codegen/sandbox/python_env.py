"""The sandbox's own Python: a venv with exactly the pinned allowlist, prepared once.

Generated tests run on this interpreter, never on SCE's: it has the packages a generated
service may use (`codegen.targets.python_sandbox.PACKAGES`) and nothing of SCE. It is built
from the system's python3.11 (the one under /usr, which the sandbox mounts read-only anyway)
into a folder named by a hash of the pins and the interpreter, so a change of either gets a
fresh folder and an old one is never half-upgraded. Network is needed only here, for pip;
afterwards a ready marker makes every call instant and offline. An fcntl lock keeps two
processes (a worker and `make`) from preparing the same folder at once.

    python -m codegen.sandbox.python_env [--root DIR]    prepares it and prints its python
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from codegen.targets.python_sandbox import PACKAGES

DEFAULT_ROOT = Path.home() / ".cache" / "sce" / "sandbox"
READY_MARKER = ".sce-ready.json"
LOCK_NAME = ".prepare.lock"
# The interpreter a sandbox venv is built from: Debian's, under the read-only /usr. Only when
# it is missing does `python3.11` from PATH serve (its prefix is then mounted read-only too).
SYSTEM_PYTHON = Path("/usr/bin/python3.11")
PIP_TIMEOUT_SECONDS = 900
# Variables of SCE's own environment that would make the new venv's tools look elsewhere.
_FOREIGN_PYTHON_VARIABLES = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")


class SandboxPythonError(RuntimeError):
    """The sandbox interpreter could not be prepared (no python3.11, pip failed)."""


@dataclass(frozen=True)
class SandboxPython:
    """A prepared interpreter: what the runner mounts and runs."""

    python: Path  # <venv>/bin/python, the path to run (also the shebang of its scripts)
    venv: Path  # mounted read-only at this same path inside the sandbox
    base_prefix: Path  # the base interpreter's prefix, mounted read-only when outside /usr


def default_root() -> Path:
    """settings.CODEGEN_SANDBOX_DIR under Django; else $CODEGEN_SANDBOX_DIR or ~/.cache/sce/sandbox."""
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        from django.conf import settings

        return Path(settings.CODEGEN_SANDBOX_DIR)
    return Path(os.environ.get("CODEGEN_SANDBOX_DIR") or DEFAULT_ROOT)


def ensure_sandbox_python(*, root: Path | None = None) -> Path:
    """The sandbox interpreter (…/bin/python), preparing its venv first if it is not ready.

    The first call installs the pinned packages with pip (network, a minute or so); later
    calls only read the ready marker.
    """
    return ensure_sandbox_install(root=root).python


def sandbox_python_ready(*, root: Path | None = None) -> Path | None:
    """The sandbox interpreter if it is prepared, else None; never installs."""
    install = sandbox_install_ready(root=root)
    return install.python if install else None


def ensure_sandbox_install(*, root: Path | None = None) -> SandboxPython:
    """Like `ensure_sandbox_python`, with the folders the runner must mount."""
    root = (root or default_root()).expanduser().absolute()
    ready = sandbox_install_ready(root=root)
    if ready:
        return ready
    base = base_interpreter()
    venv = root / venv_name(base)
    root.mkdir(parents=True, exist_ok=True)
    with _exclusive(root / LOCK_NAME):
        ready = _read_marker(venv)  # another process may have finished while we waited
        if ready:
            return ready
        _prepare(venv, base)
        ready = _read_marker(venv)
    if ready is None:
        raise SandboxPythonError(f"{venv} was prepared but its ready marker cannot be read")
    return ready


def sandbox_install_ready(*, root: Path | None = None) -> SandboxPython | None:
    root = (root or default_root()).expanduser().absolute()
    try:
        base = base_interpreter()
    except SandboxPythonError:
        return None
    return _read_marker(root / venv_name(base))


def base_interpreter() -> Path:
    """The system's python3.11 the venv is made from (never SCE's own venv)."""
    if SYSTEM_PYTHON.exists():
        return SYSTEM_PYTHON
    found = shutil.which("python3.11")
    if found is None:
        raise SandboxPythonError("no python3.11 on this machine to build the sandbox interpreter from")
    return Path(found)


def venv_name(base: Path) -> str:
    """The folder name: a hash of the pins and of the interpreter they are installed for."""
    text = "\n".join([str(base), *sorted(PACKAGES.values())])
    return "python-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_marker(venv: Path) -> SandboxPython | None:
    try:
        marker = json.loads((venv / READY_MARKER).read_text())
    except (OSError, ValueError):
        return None
    python = venv / "bin" / "python"
    if marker.get("packages") != sorted(PACKAGES.values()) or not python.exists():
        return None
    return SandboxPython(python=python, venv=venv, base_prefix=Path(marker["base_prefix"]))


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _prepare(venv: Path, base: Path) -> None:
    # A folder without a marker is what an interrupted preparation left: start it over.
    if venv.exists():
        shutil.rmtree(venv)
    environment = {key: value for key, value in os.environ.items() if key not in _FOREIGN_PYTHON_VARIABLES}
    _run([str(base), "-m", "venv", str(venv)], environment)
    python = venv / "bin" / "python"
    requirements = venv / "requirements.in"
    requirements.write_text("\n".join(sorted(PACKAGES.values())) + "\n")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-input", "--disable-pip-version-check"]
    _run([*pip, "-r", str(requirements)], environment)
    freeze = _run([str(python), "-m", "pip", "freeze", "--all"], environment)
    (venv / "requirements.lock").write_text(freeze)
    base_prefix = _run([str(python), "-c", "import sys; print(sys.base_prefix)"], environment).strip()
    _make_world_readable(venv)
    marker = {
        "packages": sorted(PACKAGES.values()),
        "interpreter": str(base),
        "base_prefix": base_prefix,
        "freeze": freeze.splitlines(),
    }
    # Written last: its presence means everything before it finished.
    (venv / READY_MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def _run(command: list[str], environment: dict[str, str]) -> str:
    try:
        completed = subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxPythonError(f"{command[0]} {command[1:3]}: {error}") from error
    if completed.returncode != 0:
        raise SandboxPythonError(
            f"{' '.join(command[:4])} failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}"
        )
    return completed.stdout


def _make_world_readable(venv: Path) -> None:
    """The sandbox runs under another uid: it must read (and enter) everything in the venv,
    whatever umask pip ran with. Nothing becomes writable."""
    for path in [venv, *venv.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        wanted = mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
            wanted |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        if wanted != mode:
            path.chmod(stat.S_IMODE(wanted))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prepare the sandbox's Python and print its path.")
    parser.add_argument("--root", type=Path, default=None, help=f"folder of sandbox venvs ({DEFAULT_ROOT})")
    arguments = parser.parse_args(argv)
    try:
        python = ensure_sandbox_python(root=arguments.root)
    except SandboxPythonError as error:
        print(f"sandbox python: {error}", file=sys.stderr)
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
