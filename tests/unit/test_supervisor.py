"""The supervisor's back-off: quick after a first failure, doubling while failures come in a row, capped."""

from __future__ import annotations

from types import SimpleNamespace

from shared.runtime import supervisor
from shared.runtime.supervisor import Watched


def test_restarts_back_off_doubling_and_capped(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = [1000.0]
    monkeypatch.setattr("shared.runtime.supervisor.time", SimpleNamespace(monotonic=lambda: clock[0]))
    state = {"alive": True, "starts": 0}

    def start() -> None:
        state["starts"] += 1
        state["alive"] = True

    item = Watched("decisions", lambda: bool(state["alive"]), start, lambda: 42)
    delays = []
    for _ in range(8):
        state["alive"] = False
        assert not item.check(clock[0])  # noticed: a restart is scheduled
        assert item.due is not None
        delays.append(round(item.due - clock[0], 2))
        clock[0] = item.due
        assert item.check(clock[0])  # started again
        clock[0] += 1  # dies again a second later: failures in a row
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert state["starts"] == item.restarts == 8

    clock[0] += supervisor.STEADY_AFTER  # a long, healthy run: the next failure is restarted quickly again
    state["alive"] = False
    item.check(clock[0])
    assert item.due == clock[0] + 0.25


def test_a_server_that_cannot_start_yet_is_tried_again_later(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = [0.0]
    monkeypatch.setattr("shared.runtime.supervisor.time", SimpleNamespace(monotonic=lambda: clock[0]))

    def start() -> None:
        raise RuntimeError("shared memory still in use")

    item = Watched("postgres", lambda: False, start, lambda: None)
    item.check(clock[0])
    clock[0] = item.due or 0.0
    assert not item.check(clock[0])
    assert item.due is not None and item.due > clock[0] and item.restarts == 0
