"""The audit's fast paths give the same answers as the detailed ones: the verifier's common case, the outcome
check that forgets a closed proposal's ballots, and the collector set aside only for the fold."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from services.decisions.audit import OutcomeCheck
from services.decisions.domain.proposal import Cast, Close, OpenProposal, Voter, proposal_decider, proposal_stream
from services.decisions.domain.rules import Rule
from services.decisions.events import Choice, Option
from shared.audit.collecting import fewer_collections
from shared.audit.export import ExportedCheckpoint, ExportHeader, utc_text
from shared.audit.verify import Report, Verifier, verify_lines
from shared.domain.decider import event_type_name
from shared.eventlog import integrity
from shared.eventlog.envelope import Metadata, RecordedEvent
from shared.fanout.cloudevents import StructuredEvent

GROUP = uuid.UUID(int=7)
AT = datetime(2026, 1, 1, tzinfo=UTC)
_encode = msgspec.json.Encoder().encode


def export(events: int = 30, streams: int = 3) -> list[bytes]:
    """A valid export of events spread over a few streams, hashed as copro hashes them, a checkpoint every 10."""
    lines = [_encode(ExportHeader(group_id=None, head=events, exported_at=AT))]
    chains: dict[str, tuple[int, bytes]] = {}
    chained = integrity.GENESIS
    for position in range(1, events + 1):
        stream = f"test.stream.{position % streams}"
        version, previous = chains.get(stream, (0, integrity.GENESIS))
        event_id, when = uuid.UUID(int=position), AT + timedelta(seconds=position)
        payload = _encode({"n": position, "text": f"event {position}"})
        content = integrity.content_hasher(group_id=GROUP, stream_id=stream, actor_id=None, actor_org=None,
                                           causation_id=None, correlation_id=None, recorded_at=when)(
            event_id, "test.Happened", payload)
        link = integrity.chain(previous, content)
        chained = integrity.chain(chained, link)
        chains[stream] = (version + 1, link)
        lines.append(_encode(StructuredEvent(
            id=event_id, source="/copro/test", type="test.Happened", subject=stream, time=integrity.timestamp(when),
            data=msgspec.Raw(payload), groupid=GROUP, streamid=stream, streamversion=version + 1, position=position,
            actorid=None, actororg=None, causationid=None, correlationid=None, contenthash=content.hex(),
            chainhash=link.hex(), globalhash=chained.hex())))
        if position % 10 == 0:
            lines.append(_encode(ExportedCheckpoint(checkpoint=position, global_hash=chained.hex(), sealed_at=when)))
    return lines


def edited(lines: list[bytes], index: int, **changes: object) -> list[bytes]:
    fields = msgspec.json.decode(lines[index])
    fields.update(changes)
    return [*lines[:index], _encode(fields), *lines[index + 1:]]


def tamperings(lines: list[bytes]) -> dict[str, list[bytes]]:
    event = lines[5]
    fields = msgspec.json.decode(event)

    def flipped(name: str) -> str:
        return ("0" if fields[name][0] != "0" else "1") + fields[name][1:]

    return {
        "clean": lines,
        "payload": [*lines[:5], event.replace(b"event 5", b"event X"), *lines[6:]],
        "content hash": edited(lines, 5, contenthash=flipped("contenthash")),
        "stream chain": edited(lines, 5, chainhash=flipped("chainhash")),
        "global chain": edited(lines, 5, globalhash=flipped("globalhash")),
        "version": edited(lines, 5, streamversion=fields["streamversion"] + 1),
        "deleted": lines[:5] + lines[6:],
        "repeated": [*lines[:6], event, *lines[6:]],
        "swapped": [*lines[:5], lines[6], lines[5], *lines[7:]],
        "stream moved": edited(lines, 5, streamid="test.stream.other"),
    }


def summary(report: Report) -> tuple[object, ...]:
    return (report.events, report.streams, report.checkpoints, report.unusable,
            [(f.position, f.problem, f.detail) for f in report.findings])


def test_the_verifiers_fast_path_finds_exactly_what_the_detailed_path_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = tamperings(export())
    fast = {name: summary(verify_lines(lines)) for name, lines in cases.items()}
    monkeypatch.setattr(Verifier, "event", Verifier._event_in_detail)
    detailed = {name: summary(verify_lines(lines)) for name, lines in cases.items()}
    assert fast == detailed
    assert not fast["clean"][-1] and all(found[-1] for name, found in fast.items() if name != "clean")


def recorded(events: list[object], stream: str, first_position: int) -> list[RecordedEvent]:
    return [RecordedEvent(
        id=getattr(e, "event_id", None) or uuid.uuid4(), group_id=GROUP, stream_id=stream, stream_version=n,
        position=first_position + n, type=event_type_name(e), data=msgspec.Raw(_encode(e)), metadata=Metadata(),
        recorded_at=AT, content_hash=b"", chain_hash=b"") for n, e in enumerate(events, 1)]


def decided(commands: list[object]) -> list[object]:
    state, out = proposal_decider.initial_state(), []
    for command in commands:
        for event in proposal_decider.decide(command, state):  # type: ignore[arg-type]
            state = proposal_decider.evolve(state, event)
            out.append(event)
    return out


def test_the_outcome_check_forgets_a_closed_proposals_ballots_yet_catches_a_later_forged_closing() -> None:
    orgs = (uuid.UUID(int=1), uuid.UUID(int=2))
    voters = [Voter(uuid.UUID(int=100 + n), orgs[n % 2], False) for n in range(5)]
    pid = uuid.uuid4()
    opening = OpenProposal(
        proposal_id=pid, group_id=GROUP, author=voters[0], kind="choice", title="Badges", body="",
        options=(Option(id="yes", label="Yes"), Option(id="no", label="No")), opens_at=AT,
        closes_at=AT + timedelta(days=1), rule=Rule(), organisations=orgs, visibility="open",
        amend_policy="keep_valid", max_choices=1, max_score=5, dots=10, at=AT)
    casts = [Cast(event_id=uuid.uuid4(), voter=v, choice=Choice(option="yes"), reason=None, at=AT) for v in voters]
    life = decided([opening, *casts, Close(by=None, at=AT + timedelta(days=2))])
    stream = proposal_stream(pid)

    check = OutcomeCheck()
    for event in recorded(life, stream, 0):
        check.observe(event)
    assert check.summary().mismatches == [] and check.summary_.counts["outcomes recomputed"] == 1
    assert check.proposals[stream].status == "closed" and len(check.proposals[stream].ballots) == 0

    # bypassing the decider: a ballot after the closing, then a second closing that counts it
    late = decided([opening, *casts[1:], Cast(event_id=uuid.uuid4(), voter=voters[0], choice=Choice(option="no"),
                                               reason=None, at=AT), Close(by=None, at=AT + timedelta(days=2))])
    forged = [late[-2], late[-1]]
    for event in recorded(forged, stream, len(life)):
        check.observe(event)
    mismatches = check.summary().mismatches
    assert {m.stream_id for m in mismatches} == {stream}
    assert "ballot(s) counted that were not current" in mismatches[0].detail
    assert "recounting gives chosen" in mismatches[1].detail  # the first closing's recount, which differs


def test_the_collector_runs_less_often_only_inside_the_fold() -> None:
    before = gc.get_threshold()
    with fewer_collections(threshold=before[0] * 10):
        assert gc.get_threshold() == (before[0] * 10, *before[1:])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failed fold restores it too")
    assert gc.get_threshold() == before


def test_the_exports_time_is_the_text_every_hash_uses() -> None:
    times = [AT + timedelta(microseconds=7919 * n) for n in range(1000)]
    times += [datetime(2026, 5, 1, 12, tzinfo=UTC), datetime(999, 1, 1, tzinfo=UTC),
              datetime(2026, 5, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3)))]
    assert [utc_text(t) for t in times] == [integrity.timestamp(t) for t in times]


def test_the_writers_content_hash_is_the_hash_of_the_fields_text() -> None:
    """Writers hand ids to the encoder as UUIDs; auditors hash the text an export carries: the same bytes."""
    for n in range(500):
        ids = [uuid.uuid4() if (n >> k) & 1 else None for k in range(4)]
        event, group, payload = uuid.uuid4(), uuid.uuid4(), _encode({"n": n, "text": "é\"\\"})
        at = AT + timedelta(microseconds=7919 * n)
        written = integrity.content_hasher(group_id=group, stream_id=f"s-{n}", actor_id=ids[0], actor_org=ids[1],
                                           causation_id=ids[2], correlation_id=ids[3], recorded_at=at)(
            event, "tests.Noted", payload)
        audited = integrity.canonical_hash(str(event), str(group), f"s-{n}", "tests.Noted",
                                           tuple(None if i is None else str(i) for i in ids),
                                           integrity.timestamp(at), payload)
        assert written == audited
