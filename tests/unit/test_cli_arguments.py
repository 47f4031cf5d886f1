"""The command line refuses what cannot work, before doing anything (each of these was taken before), and
`copro tail` says when it waits for an event type no service writes (it waited in silence)."""

from __future__ import annotations

import pytest

from shared.runtime.cli import main
from shared.runtime.cli.tail import unknown_types


@pytest.mark.parametrize("argv", [["audit", "verify", "x.jsonl", "--jobs", "0"], ["audit", "verify", "--jobs", "-2"],
                                  ["tail", "00000000-0000-0000-0000-000000000001", "--after", "-3"],
                                  ["tail", "00000000-0000-0000-0000-000000000001", "--service", "nosuch"],
                                  ["serve", "decisions", "--workers", "0"],
                                  ["forget", "00000000-0000-0000-0000-000000000001", "--consent", " "]])
def test_a_value_out_of_range_is_refused_by_the_parser(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert refused.value.code == 2 and "error: argument" in capsys.readouterr().err


def test_tail_names_event_types_no_service_writes() -> None:
    assert unknown_types(frozenset({"BallotCast", "decisions.ProposalClosed", "NoSuchType", "decisions.Nope"})) == [
        "NoSuchType", "decisions.Nope"]


def test_tail_names_system_actors_as_trace_does() -> None:
    """It printed the operator as a bare id (the newcomer's find)."""
    from shared.audit.trace import actor_names
    from shared.eventlog.trace import system_actor
    from shared.runtime.cli.tail import readable

    event = {"position": 7, "time": "2030-01-01T00:00:00Z", "type": "decisions.GroupCreated", "subject": "s",
             "actorid": str(system_actor("operator")), "actororg": None, "data": {}}
    assert "by operator" in readable(event, actor_names())
    member = {**event, "actorid": "01a21ef8-0000-7000-8000-000000000001", "actororg": "01a21ef8-0000-7000-8000-0000000000aa"}
    assert "by member 01a21ef8-0000-7000-8000-000000000001" in readable(member, actor_names())
