"""`manage.py serve`: the whole portal in one command.

Starts daphne (HTTP and WebSockets), a Celery worker, Celery beat and, when REDIS_URL is
unset, the bundled Redis; stops them all together however it ends: Ctrl-C, SIGTERM or
SIGHUP, one child dying, an error. Each child leads its own process group
(core.processes.Leader) and is stopped with everything it started; beat is a child of its
own, not the worker's embedded one, so it cannot outlive a worker that was killed. A second
Ctrl-C while stopping kills what is left at once.

One daphne process runs on one core; `--web-processes N` starts N of them on one listening
socket (the kernel hands each new connection to one of them), as Channels' deployment
notes do with a process manager's shared socket and `daphne --fd`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import embedded_redis, processes

logger = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Command(BaseCommand):
    help = "Run the portal: daphne, a Celery worker and beat, and (embedded mode) the bundled Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="do not start a Celery worker and beat")
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
        parser.add_argument(
            "--web-processes",
            type=int,
            default=int(os.environ.get("WEB_PROCESSES", "1")),
            help="daphne processes sharing the port (default: WEB_PROCESSES or 1; one per core at most)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        children: list[tuple[str, subprocess.Popen[bytes]]] = []
        redis_process = None
        listener: socket.socket | None = None
        if options["web_processes"] < 1:
            raise CommandError("--web-processes must be at least 1")

        def stop_on_signal(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        for signum in STOP_SIGNALS:
            signal.signal(signum, stop_on_signal)
        try:
            if settings.EMBEDDED_REDIS:
                socket = settings.EMBEDDED_REDIS_SOCKET
                if embedded_redis.is_answering(socket):
                    self.stdout.write(f"Using the embedded Redis already running on {socket}")
                else:
                    redis_process = embedded_redis.start(socket_path=socket, data_dir=settings.DATA_DIR)
                    self.stdout.write(f"Embedded Redis on {socket}")
            if not options["no_migrate"]:
                call_command("migrate", interactive=False, verbosity=1)
            # Links in emails and pages point at SITE_ROOT: by default, where we listen.
            os.environ.setdefault("SITE_ROOT", f"http://{options['host']}:{options['port']}")
            if not options["no_worker"]:
                children.append(("worker", processes.Leader(worker_command())))
                children.append(("beat", processes.Leader(beat_command(settings.DATA_DIR))))
            if options["web_processes"] == 1:
                children.append(("web", processes.Leader(daphne_command(options["host"], options["port"]))))
            else:
                listener = listen(options["host"], options["port"])
                command = daphne_command(options["host"], options["port"], fd=listener.fileno())
                for number in range(options["web_processes"]):
                    web = processes.Leader(command, pass_fds=(listener.fileno(),))
                    children.append((f"web {number + 1}", web))
            self.stdout.write(self.style.SUCCESS(f"SCE is up at http://{options['host']}:{options['port']}/"))
            self._wait(children)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            if redis_process is not None:
                children.insert(0, ("redis", redis_process))  # stopped last
            self._stop(children)
            if listener is not None:
                listener.close()

    def _stop(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        """Stop the children, the last started first; on another stop signal meanwhile, kill
        what is left at once."""
        stopped: list[subprocess.Popen[bytes]] = []
        try:
            for name, process in reversed(children):
                try:
                    processes.stop(process, timeout=15.0)
                except OSError:
                    logger.exception("could not stop the %s process", name)
                    continue
                stopped.append(process)
        except KeyboardInterrupt:
            self.stdout.write("Stopping now…")
        finally:
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
            for _name, process in children:
                if process not in stopped:
                    processes.kill(process)

    def _wait(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        while True:
            for name, process in children:
                code = process.poll()
                if code is not None:
                    raise CommandError(f"the {name} process exited with code {code}; stopping the rest")
            time.sleep(0.5)


# When many pages connect at once (every open page reconnects after a restart) daphne takes
# in the sockets faster than their consumers accept them (a session and a membership read
# each, in the one database thread). daphne drops a socket not accepted within its connect
# timeout (default 5 s) with a TCP reset, and the page then reconnects into the same queue;
# 1,000 pages connecting within 2 s were all reset that way. A socket still waiting costs
# little, so it is given longer, and the listen queue (Twisted's default: 50) room for them.
WEBSOCKET_CONNECT_TIMEOUT = 30
LISTEN_BACKLOG = 1024


def worker_command() -> list[str]:
    """A Celery worker; beat runs beside it (beat_command), never embedded (`--beat`), where
    it would outlive a worker that was killed."""
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool", "threads", "--concurrency", "2", "--loglevel", "INFO",
    ]  # fmt: skip


def beat_command(data_dir: Path) -> list[str]:
    """Celery beat, keeping its schedule in the data directory."""
    return [
        sys.executable, "-m", "celery", "-A", "config", "beat",
        "--schedule", str(data_dir / "celerybeat-schedule"), "--loglevel", "INFO",
    ]  # fmt: skip


def daphne_command(host: str, port: int, *, fd: int | None = None) -> list[str]:
    """daphne serving the portal on host:port, with the timeout and backlog above; or on the
    listening socket `fd` (see `listen`) that it inherits."""
    if fd is None:
        interface = host.replace(":", "\\:")  # an IPv6 address's colons, escaped for Twisted
        endpoint = f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"
    else:
        endpoint = f"fd:fileno={fd}"  # IPv4 only: Twisted's fd endpoint takes no other family
    return [
        sys.executable, "-m", "daphne", "-e", endpoint,
        "--websocket_connect_timeout", str(WEBSOCKET_CONNECT_TIMEOUT),
        "config.asgi:application",
    ]  # fmt: skip


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv4) for several daphne processes to share."""
    if ":" in host:
        raise CommandError("several web processes need an IPv4 address to listen on")
    listener = socket.create_server((host, port), backlog=LISTEN_BACKLOG)
    listener.set_inheritable(True)
    return listener
