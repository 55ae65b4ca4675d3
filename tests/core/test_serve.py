"""`manage.py serve`, the README's run command, on embedded defaults from an empty data dir."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from core import embedded_redis
from core.management.commands.serve import listen
from tests.servers import ROOT, free_port

PASSWORD = "correct horse battery staple"


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-4000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer 200:\n{log.read_text()[-4000:]}")


def daphne_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children if b"daphne" in Path(f"/proc/{child}/cmdline").read_bytes()]


def test_serve_brings_up_a_portal_where_sign_up_works(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "CI"}}
    env.update(SCE_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--web-processes", "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/healthz", process, log)
            assert len(daphne_children(process.pid)) == 2, "two web processes share the port"

            jar = http.cookiejar.CookieJar()
            browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            form = browser.open(base + "/accounts/signup/").read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
            assert token
            fields = {
                "csrfmiddlewaretoken": token.group(1),
                "name": "Grace Hopper",
                "email": "grace@example.com",
                "password": PASSWORD,
                "organization": "Compilers Inc",
            }
            request = urllib.request.Request(
                base + "/accounts/signup/",
                data=urllib.parse.urlencode(fields).encode(),
                headers={"Referer": base + "/accounts/signup/"},
            )
            with browser.open(request) as response:
                assert response.url == base + "/t/compilers-inc/"
                assert "Compilers Inc" in response.read().decode()
            assert (data / "db.sqlite3").exists()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    output = log.read_text()
    assert f"SCE is up at http://127.0.0.1:{port}/" in output
    assert process.returncode == 0, output[-4000:]
    assert not embedded_redis.is_answering(data / "redis.sock"), "the embedded Redis stops with the portal"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the web server stops with the portal"
    assert re.search(r"celery@\S+ ready", output), "a worker ran beside the web server"


def test_several_web_processes_need_an_ipv4_address() -> None:
    with pytest.raises(CommandError, match="IPv4"):
        listen("::1", free_port())
