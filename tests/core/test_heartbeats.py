"""core.heartbeats.Heartbeat: beats while the block runs, stops when it ends or the job is lost."""

from __future__ import annotations

import threading

import pytest

from core.heartbeats import Heartbeat


def heartbeat_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("heartbeat ")]


def test_it_beats_while_the_block_runs_and_stops_with_it() -> None:
    beats: list[int] = []
    third = threading.Event()

    def beat() -> bool:
        beats.append(len(beats) + 1)
        if len(beats) == 3:
            third.set()
        return True

    with Heartbeat(beat, name="job 1", interval=0.01) as heartbeat:
        assert third.wait(timeout=10)
        assert heartbeat_threads()
    count = len(beats)

    assert count >= 3
    assert not heartbeat.lost
    assert heartbeat_threads() == [], "leaving the block stops and joins the thread"
    assert len(beats) == count, "no beat after the block ended"


def test_a_job_taken_over_stops_beating_and_reads_as_lost() -> None:
    calls: list[int] = []

    def beat() -> bool:
        calls.append(1)
        return False

    with Heartbeat(beat, name="job 2", interval=0.01) as heartbeat:
        heartbeat._thread.join(timeout=10)  # it ends by itself on the first False
        assert heartbeat.lost
    assert calls == [1]


def test_a_failing_beat_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[bool | Exception] = [RuntimeError("database away"), True]
    recovered = threading.Event()

    def beat() -> bool:
        outcome = outcomes.pop(0) if outcomes else True
        if isinstance(outcome, Exception):
            raise outcome
        recovered.set()
        return outcome

    with Heartbeat(beat, name="job 3", interval=0.01) as heartbeat:
        assert recovered.wait(timeout=10)
    assert not heartbeat.lost
    assert "job 3: a heartbeat failed; trying again" in caplog.text
