"""`manage.py serve`: the whole portal in one command.

Starts daphne (HTTP and WebSockets), a Celery worker with its beat scheduler and, when
REDIS_URL is unset, the bundled Redis; stops them all together on Ctrl-C or when one dies.
One daphne process runs on one core; `--web-processes N` starts N of them on one listening
socket (the kernel hands each new connection to one of them), as Channels' deployment
notes do with a process manager's shared socket and `daphne --fd`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import embedded_redis, processes


class Command(BaseCommand):
    help = "Run the portal: daphne, a Celery worker and (embedded mode) the bundled Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="do not start a Celery worker")
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

        def stop_on_sigterm(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop_on_sigterm)
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
                children.append(("worker", self._start_worker()))
            if options["web_processes"] == 1:
                children.append(("web", subprocess.Popen(daphne_command(options["host"], options["port"]))))
            else:
                listener = listen(options["host"], options["port"])
                command = daphne_command(options["host"], options["port"], fd=listener.fileno())
                for number in range(options["web_processes"]):
                    web = subprocess.Popen(command, pass_fds=(listener.fileno(),))
                    children.append((f"web {number + 1}", web))
            self.stdout.write(self.style.SUCCESS(f"SCE is up at http://{options['host']}:{options['port']}/"))
            self._wait(children)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            for _name, process in reversed(children):
                processes.stop(process, timeout=15.0)
            if listener is not None:
                listener.close()
            if redis_process is not None:
                embedded_redis.stop(redis_process)

    def _start_worker(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--beat", "--schedule", str(settings.DATA_DIR / "celerybeat-schedule"),
                "--pool", "threads", "--concurrency", "2", "--loglevel", "INFO",
            ]
        )  # fmt: skip

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
