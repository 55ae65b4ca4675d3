"""Child processes the portal starts (daphne, Celery, the embedded Redis), stopped alike."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """SIGTERM (redis-server flushes its append-only file, daphne and Celery finish what they
    hold), then SIGKILL if the process has not exited within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
