"""Sealed ballots: under after_close (and after_vote) no read path shows what anyone chose before the close;
the close releases the key into the log, so every reader, an export and a replay can read and recount them."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
import nats
from litestar.testing import AsyncTestClient

from services.decisions.audit import OutcomeCheck
from services.decisions.domain.proposal import proposal_decider
from services.decisions.domain.tally import count
from services.decisions.events import BallotCast, ProposalClosed, ProposalEvent
from services.decisions.projections import ProposalList
from shared.audit.export import export_lines
from shared.audit.replay import drop_scratch, replay
from shared.audit.verify import verify_lines, verify_live
from shared.eventlog import sealing
from shared.eventlog.envelope import NewEvent, RecordedEvent
from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats
from tests.conftest import wait_sealed
from tests.integration.decisions_client import Group, make_group, soon

REASON = "the hall has steps I cannot manage"
ROLES = ("member", "facilitator", "observer", "auditor")


@dataclass
class Sealed:
    group: Group
    proposal_id: str
    url: str
    hall: str
    library: str


async def sealed_vote(api: AsyncTestClient, operator: dict[str, str], visibility: str = "after_close",  # type: ignore[type-arg]
                      group: Group | None = None) -> Sealed:
    """A choice proposal under ``visibility``: the member chooses the library with a reason, the facilitator the hall."""
    group = group or await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "choice", "title": "Venue", "closes_at": soon(days=2), "visibility": visibility,
        "options": [{"label": "Hall"}, {"label": "Library"}]})
    assert made.status_code == 201, made.text
    hall, library = (o["id"] for o in made.json()["options"])
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    cast = await api.post(f"{url}/ballots", headers=group.tokens["member"],
                          json={"choice": {"option": library}, "reason": REASON})
    assert cast.status_code == 201 and cast.json()["choice"] == {"option": library}, cast.text
    assert (await api.post(f"{url}/ballots", headers=group.tokens["facilitator"],
                           json={"choice": {"option": hall}})).status_code == 201
    return Sealed(group, made.json()["proposal_id"], url, hall, library)


def ballots(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == "decisions.BallotCast"]


def assert_sealed(found: list[dict[str, Any]], count: int = 2) -> None:
    assert len(found) == count, found
    for data in found:
        assert data["choice"] is None and data["reason"] is None, data
        assert data["sealed"].startswith("sealed:v1:"), data


async def log_of(api: AsyncTestClient, operator: dict[str, str], proposal_id: str) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await api.get(f"/log?after={after}&limit=1000", headers=operator)).json()
        events.extend(e for e in page["events"] if e["stream_id"] == f"decisions.proposal.{proposal_id}")
        if page["next"] is None:
            return events
        after = page["next"]


async def test_before_the_close_no_reader_sees_a_sealed_ballot_then_every_reader_does(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    vote = await sealed_vote(api, operator)
    group, member = vote.group, vote.group.members["member"]
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    for who in ROLES:  # a member's history, as every member of the group may read it
        history = await api.get(f"{group.base}/members/{member}/history", headers=group.tokens[who])
        assert history.status_code == 200 and REASON not in history.text
        assert_sealed(ballots(history.json()), 1)
        for path in (vote.url, f"{vote.url}/history"):  # the proposal and its history, voter or not
            assert REASON not in (await api.get(path, headers=group.tokens[who])).text
        assert_sealed(ballots((await api.get(f"{vote.url}/history", headers=group.tokens[who])).json()))
        detail = (await api.get(vote.url, headers=group.tokens[who])).json()
        assert detail["tally"] is None and detail["ballots"] == 2  # who voted may be counted
    logged = await log_of(api, operator, vote.proposal_id)  # the operator's whole log
    assert_sealed(ballots(logged))
    assert REASON not in str(logged)
    # the service itself still knows each member's own ballot
    assert (await api.get(vote.url, headers=group.tokens["member"])).json()["my_ballot"] == {"option": vote.library}

    closed = await api.post(f"{vote.url}/close", headers=group.tokens["facilitator"])
    assert closed.status_code == 200 and closed.json()["outcome"]["result"] == "tie", closed.text
    history = (await api.get(f"{group.base}/members/{member}/history", headers=group.tokens["observer"])).json()
    assert [(b["choice"], b["reason"], "sealed" in b) for b in ballots(history)] == [
        ({"option": vote.library}, REASON, False)]
    opened = ballots((await api.get(f"{vote.url}/history", headers=group.tokens["auditor"])).json())
    assert sorted(b["choice"]["option"] for b in opened) == sorted([vote.hall, vote.library])
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    logged = await log_of(api, operator, vote.proposal_id)
    assert {b["reason"] for b in ballots(logged)} == {REASON, None}
    [closing] = [e["data"] for e in logged if e["type"] == "decisions.ProposalClosed"]
    assert closing["seal_key"].startswith(f"{vote.proposal_id}:")


async def test_after_vote_only_a_member_who_voted_reads_the_ballots_before_the_close(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    vote = await sealed_vote(api, operator, "after_vote")
    group = vote.group
    voter = (await api.get(f"{vote.url}/history", headers=group.tokens["member"])).json()
    assert REASON in str(voter) and {b["choice"]["option"] for b in ballots(voter)} == {vote.hall, vote.library}
    assert (await api.get(vote.url, headers=group.tokens["member"])).json()["tally"] is not None
    for who in ("observer", "auditor"):  # they did not vote
        assert_sealed(ballots((await api.get(f"{vote.url}/history", headers=group.tokens[who])).json()))
        assert (await api.get(vote.url, headers=group.tokens[who])).json()["tally"] is None
    member = group.members["member"]  # a member's history is for everyone: sealed there, even to the voter
    assert_sealed(ballots((await api.get(f"{group.base}/members/{member}/history",
                                         headers=group.tokens["member"])).json()), 1)


async def test_a_repeated_sealed_ballot_is_stored_once_and_answered_the_same(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    vote = await sealed_vote(api, operator)
    headers = {**vote.group.tokens["facilitator"], "Idempotency-Key": "sealed-1"}
    body = {"choice": {"option": vote.hall}, "reason": "nearer the bus"}
    first = await api.post(f"{vote.url}/ballots", headers=headers, json=body)
    again = await api.post(f"{vote.url}/ballots", headers=headers, json=body)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json() and again.json()["choice"] == {"option": vote.hall}
    # the answer came from the stored ballot, which is sealed for every other reader
    stored = await EventStore(store.pool, store.url).read_stream(f"decisions.proposal.{vote.proposal_id}")
    assert_sealed([msgspec.json.decode(e.data) for e in stored if e.type == "decisions.BallotCast"], 3)


async def _nats_messages(client: Any, subject: str, until: str, wanted: int = 1) -> list[Any]:
    """A partner's subscription from the start of the stream, until ``wanted`` messages of type ``until``."""
    subscription = await client.jetstream().subscribe(subject, ordered_consumer=True)
    found: list[Any] = []
    try:
        while sum(m.headers["ce-type"] == until for m in found) < wanted:
            found.append(await subscription.next_msg(timeout=20))
    finally:
        await subscription.unsubscribe()
    return found


async def test_a_nats_subscriber_gets_sealed_ballots_and_opens_them_with_the_key_the_close_releases(
    api: AsyncTestClient, operator: dict[str, str], own_nats: EmbeddedNats  # type: ignore[type-arg]
) -> None:
    vote = await sealed_vote(api, operator)
    subject = f"copro.{vote.group.id}.decisions.>"
    client = await nats.connect(own_nats.admin_url)
    try:
        messages = [m for m in await _nats_messages(client, subject, "decisions.BallotCast", 2)
                    if m.headers["ce-type"] == "decisions.BallotCast"]
        assert len(messages) == 2
        for message in messages:
            assert REASON.encode() not in message.data and b'"option"' not in message.data
        assert_sealed([msgspec.json.decode(m.data) for m in messages])
        assert (await api.post(f"{vote.url}/close", headers=vote.group.tokens["facilitator"])).status_code == 200
        closing = (await _nats_messages(client, subject, "decisions.ProposalClosed"))[-1]
        assert closing.headers["ce-type"] == "decisions.ProposalClosed"
    finally:
        await client.close()
    released = sealing.released_key(closing.data)
    assert released is not None and released[0] == uuid.UUID(vote.proposal_id)
    keys = dict([released])
    opened = [msgspec.json.decode(sealing.unseal(m.data, uuid.UUID(m.headers["ce-id"]), keys)) for m in messages]
    assert sorted(o["choice"]["option"] for o in opened) == sorted([vote.hall, vote.library])
    # the reason stays personal data: encrypted with its author's key, which never leaves copro
    assert [o["reason"][:7] for o in opened if o["reason"]] == ["pii:v1:"]


async def _export(store: EventStore) -> list[bytes]:
    return [line for chunk in [c async for c in export_lines(store)] for line in chunk.splitlines()]


def _opened_events(lines: list[bytes], proposal_id: str) -> list[Any]:
    """What an auditor does offline with an export alone: collect the keys the log released and
    open the proposal's ballots with them."""
    events = [msgspec.json.decode(line) for line in lines[1:] if b'"specversion"' in line]
    raw = [(e["id"], msgspec.json.encode(e["data"])) for e in events
           if e["subject"] == f"decisions.proposal.{proposal_id}"]
    keys = dict(k for _, payload in raw if (k := sealing.released_key(payload)) is not None)
    return [msgspec.json.decode(sealing.unseal(p, uuid.UUID(i), keys), type=ProposalEvent) for i, p in raw]


async def _replays(store: EventStore) -> None:
    """As ``copro audit replay`` runs it: as the owner role (its read models go to a scratch schema)."""
    total = await store.pool.fetchval("SELECT count(*) FROM events")
    await wait_sealed(store, total)
    result = await replay(store, [ProposalList()], [OutcomeCheck()])
    await drop_scratch(store, result.schema)
    assert result.ok, result.checks[0].mismatches
    assert result.checks[0].counts["outcomes recomputed"] >= 1


async def test_an_export_verifies_and_replay_recomputes_sealed_outcomes_with_the_released_keys(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, owner_store: EventStore  # type: ignore[type-arg]
) -> None:
    vote = await sealed_vote(api, operator)
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    before = await _export(store)
    assert not any(REASON.encode() in line for line in before)
    mine = [msgspec.json.decode(line)["data"] for line in before
            if f"decisions.proposal.{vote.proposal_id}".encode() in line and b"decisions.BallotCast" in line]
    assert_sealed(mine)
    assert (await api.post(f"{vote.url}/close", headers=vote.group.tokens["facilitator"])).status_code == 200
    await _replays(owner_store)
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    lines = await _export(store)
    assert verify_lines(lines).ok and (await verify_live(store)).ok
    decoded = _opened_events(lines, vote.proposal_id)
    opened = [e for e in decoded if isinstance(e, BallotCast)]
    assert sorted(str(b.choice.option) for b in opened if b.choice) == sorted([vote.hall, vote.library])
    closing = next(e for e in decoded if isinstance(e, ProposalClosed))
    state = proposal_decider.fold(decoded)
    counted = [b for b in state.ballots.values() if b.event_id in closing.outcome.counted_ballots]
    assert len(counted) == 2 and count(state.question(), counted) == closing.outcome  # offline, from the export

    # a withdrawn proposal releases its key too, so the log stays whole for replay
    withdrawn = await sealed_vote(api, operator, group=vote.group)
    assert (await api.post(f"{withdrawn.url}/withdraw", headers=withdrawn.group.tokens["member"],
                           json={"reason": "venue booked elsewhere"})).status_code == 200
    history = (await api.get(f"{withdrawn.url}/history", headers=withdrawn.group.tokens["auditor"])).json()
    assert {b["choice"]["option"] for b in ballots(history)} == {withdrawn.hall, withdrawn.library}
    await _replays(owner_store)


async def test_forgetting_a_voter_after_a_sealed_close_erases_their_reason_and_the_outcome_still_recomputes(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, owner_store: EventStore  # type: ignore[type-arg]
) -> None:
    vote = await sealed_vote(api, operator)
    group, member = vote.group, vote.group.members["member"]
    assert (await api.post(f"{vote.url}/close", headers=group.tokens["facilitator"])).status_code == 200
    assert REASON in (await api.get(f"{vote.url}/history", headers=group.tokens["auditor"])).text
    forgotten = await api.post(f"{group.base}/members/{member}/forget", headers=group.tokens["facilitator"],
                               json={"consent": "asked at the weekly meeting, agreed"})
    assert forgotten.status_code == 200, forgotten.text
    for _ in range(1200):  # until the forget notice reached every cache (a minute at most)
        history = (await api.get(f"{group.base}/members/{member}/history", headers=group.tokens["auditor"])).json()
        if all(b["reason"] is None for b in ballots(history)):
            break
        await asyncio.sleep(0.05)
    assert [(b["choice"], b["reason"]) for b in ballots(history)] == [({"option": vote.library}, None)]
    # no table and no export holds the reason, while the seal's key is in the log for everyone
    for table in [r["tablename"] for r in await store.pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]:
        for row in await store.pool.fetch(f'SELECT * FROM "{table}"'):
            assert not any(REASON.encode() in (v if isinstance(v, bytes) else str(v).encode()) for v in row.values())
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    lines = await _export(store)
    assert not any(REASON.encode() in line for line in lines)
    assert verify_lines(lines).ok and (await verify_live(store)).ok
    stored = [msgspec.json.decode(line)["data"] for line in lines  # stored bytes never change: sealed for good
              if f"decisions.proposal.{vote.proposal_id}".encode() in line and b"decisions.BallotCast" in line]
    assert_sealed(stored)
    opened = [e for e in _opened_events(lines, vote.proposal_id) if isinstance(e, BallotCast)]
    # the choices open with the released key; the reason stays ciphertext whose key is gone
    assert {b.choice.option if b.choice else "" for b in opened} == {vote.library, vote.hall}
    [reason] = [b.reason for b in opened if b.member_id == uuid.UUID(member)]
    assert reason is not None and reason.startswith(f"pii:v1:{member}:")
    assert await store.pool.fetchval("SELECT key FROM data_keys WHERE subject_id = $1", uuid.UUID(member)) is None
    await _replays(owner_store)


async def test_the_store_opens_a_seal_only_once_the_releasing_event_is_in_the_log(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    vote = await sealed_vote(api, operator)
    stream = f"decisions.proposal.{vote.proposal_id}"
    # a release prepared for an append that never happened (a lost race) releases nothing
    await store.pool.execute("UPDATE seal_keys SET released_by = array_append(released_by, $2) WHERE seal_id = $1",
                             uuid.UUID(vote.proposal_id), uuid.uuid4())
    fresh = EventStore(store.pool, store.url)  # no cached keys
    read: list[RecordedEvent] = await fresh.read_stream(stream)
    assert_sealed([msgspec.json.decode(e.data) for e in read if e.type == "decisions.BallotCast"])
    unsealed = await fresh.read_stream(stream, unsealed=True)  # the decisions service's own read
    assert {msgspec.json.decode(e.data)["choice"]["option"] for e in unsealed if e.type == "decisions.BallotCast"} == {
        vote.hall, vote.library}
    assert await store.pool.fetchval("SELECT count(*) FROM seal_keys WHERE seal_id = $1", uuid.UUID(vote.proposal_id))


async def test_a_ballot_stored_in_clear_before_sealing_stays_hidden_in_a_members_history(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    """A member's history hides it while results are hidden, as the proposal's own history does."""
    vote = await sealed_vote(api, operator)
    group, member = vote.group, uuid.UUID(vote.group.members["member"])
    stream = f"decisions.proposal.{vote.proposal_id}"
    recorded = await store.read_stream(stream)
    cast = next(e for e in recorded if e.type == "decisions.BallotCast")
    org = uuid.UUID(msgspec.json.decode(cast.data)["organisation_id"])
    event_id = uuid.uuid4()
    clear = {"type": "decisions.BallotCast", "event_id": str(event_id), "proposal_id": vote.proposal_id,
             "member_id": str(member), "organisation_id": str(org), "lived_experience": True,
             "choice": {"option": vote.hall}, "reason": None, "at": "2025-09-02T09:00:00Z"}
    await store.append(group_id=uuid.UUID(group.id), stream_id=stream, expected_version=len(recorded),
                       events=[NewEvent(id=event_id, type="decisions.BallotCast", data=clear)])
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    for who in ("observer", "auditor"):  # neither voted: under after_close they see no choice before the close
        history = (await api.get(f"{group.base}/members/{member}/history", headers=group.tokens[who])).json()
        found = [e["data"] for e in history if e["type"] == "decisions.BallotCast"]
        assert len(found) == 2 and all(b["choice"] is None for b in found), found
