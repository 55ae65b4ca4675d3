"""`manage.py serve`: the whole portal in one command.

Starts daphne (HTTP and WebSockets), a Celery worker, Celery beat, the children apps
register (core.processes.register_child: the runs app's Temporal worker) and, in embedded
mode, the bundled Redis (REDIS_URL unset) and Temporal's dev server (TEMPORAL_ADDRESS unset);
stops them all together however it ends: Ctrl-C, SIGTERM or SIGHUP, one child dying, an
error. The servers start first and stop last: Temporal, then Redis. Each child leads its own
process group (core.processes.Leader) and is stopped with everything it started; beat is a
child of its own, not the worker's embedded one, so it cannot outlive a worker that was
killed. A second Ctrl-C while stopping kills what is left at once.

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

from core import embedded_redis, processes, temporal_server
from core.temporal_client import temporal_address

logger = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Command(BaseCommand):
    help = (
        "Run the portal: daphne, a Celery worker and beat, the apps' workers (workflow runs),"
        " and (embedded mode) the bundled Redis and Temporal dev server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start the background workers (Celery worker and beat, the workflow-runs worker)",
        )
        parser.add_argument(
            "--no-temporal",
            action="store_true",
            help="run without Temporal: no embedded dev server, no worker that needs it (no workflow runs)",
        )
        parser.add_argument(
            "--temporal-ui",
            action="store_true",
            help="also serve the embedded Temporal's Web UI, on TEMPORAL_EMBEDDED_PORT + 1000",
        )
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
        temporal_process = None
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
            if not options["no_temporal"]:
                temporal_process = self._start_temporal(ui=options["temporal_ui"])
            if not options["no_migrate"]:
                call_command("migrate", interactive=False, verbosity=1)
            # Links in emails and pages point at SITE_ROOT: by default, where we listen.
            os.environ.setdefault("SITE_ROOT", f"http://{options['host']}:{options['port']}")
            if not options["no_worker"]:
                children.append(("worker", processes.Leader(worker_command())))
                children.append(("beat", processes.Leader(beat_command(settings.DATA_DIR))))
                for child in children_to_start(no_temporal=options["no_temporal"]):
                    children.append((child.name, processes.Leader(child.command())))
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
            if temporal_process is not None:
                children.insert(0, ("temporal", temporal_process))  # stopped after its workers
            if redis_process is not None:
                children.insert(0, ("redis", redis_process))  # stopped last
            self._stop(children)
            if listener is not None:
                listener.close()

    def _start_temporal(self, *, ui: bool) -> processes.Leader | None:
        """The embedded Temporal dev server, unless TEMPORAL_ADDRESS names another or one already
        answers on the embedded port (a second `serve`, a `workflow run` command's)."""
        namespace = settings.TEMPORAL_NAMESPACE
        address = temporal_address()
        if not settings.EMBEDDED_TEMPORAL:
            self.stdout.write(f"Using Temporal at {address}, namespace {namespace}")
            return None
        if temporal_server.is_answering(address, namespace):
            self.stdout.write(f"Using the Temporal server already answering on {address}")
            return None
        try:
            process = temporal_server.start(
                port=settings.TEMPORAL_EMBEDDED_PORT,
                db_file=settings.TEMPORAL_EMBEDDED_DB,
                namespace=namespace,
                ui=ui,
            )
        except temporal_server.EmbeddedTemporalError as error:
            raise CommandError(str(error)) from error
        where = (
            f"Embedded Temporal on {address}, namespace {namespace}, state in {settings.TEMPORAL_EMBEDDED_DB}"
        )
        if ui:
            ui_port = settings.TEMPORAL_EMBEDDED_PORT + temporal_server.UI_PORT_OFFSET
            where += f", Web UI at http://127.0.0.1:{ui_port}/"
        self.stdout.write(where)
        return process

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


def children_to_start(*, no_temporal: bool) -> list[processes.RegisteredChild]:
    """The children apps registered that this `serve` runs: those whose condition holds, less
    those that need Temporal when it runs without."""
    return [
        child
        for child in processes.registered_children()
        if child.when() and not (no_temporal and child.needs_temporal)
    ]


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
        sys.executable, "-m", "core.daphne_server", "-e", endpoint,
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
