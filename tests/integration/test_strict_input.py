"""Strict input everywhere, on the real services: refused with a problem naming the field, and nothing recorded.

Every case here was answered 2xx (the field silently dropped, or a time with no
offset stored) or 500 before: a typo in a rule, an unknown field in a nested
struct, a time without an offset, an integer beyond 64 bits, a body nested too
deep or not UTF-8. Each is sent with its own ``X-Request-Id`` and the log is
counted before and after: an error leaves no event behind.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from services.scheduling.domain.meetings import meeting_stream
from services.scheduling.events import MeetingScheduled
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from tests.integration.decisions_client import Group, add, make_group, soon

NAIVE = "2030-05-01T10:30:00"
EDGE = "9999-12-31T23:59:59-10:00"  # year 10000 in UTC: beyond Python's calendar once placed anywhere
DAWN = "0001-01-01T00:00:00+05:00"
HUGE = 2**70
DEEP = b'{"name":' + b"[" * 20_000 + b"]" * 20_000 + b"}"


@dataclass
class World:
    group: Group
    ids: dict[str, str]
    clients: dict[str, AsyncTestClient]  # type: ignore[type-arg]

    def url(self, template: str) -> str:
        return template.format(g=self.group.base, **self.ids)


@pytest.fixture(scope="module")
async def world(api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient,  # type: ignore[type-arg]
                publishing: AsyncTestClient) -> World:  # type: ignore[type-arg]
    group = await make_group(api, operator)
    facilitator = group.tokens["facilitator"]
    made = await api.post(f"{group.base}/proposals", headers=facilitator, json={
        "kind": "score", "title": "Venue", "closes_at": soon(days=2),
        "options": [{"label": "Hall", "id": "hall"}, {"label": "Library", "id": "library"}]})
    assert made.status_code == 201, made.text
    gathering = await scheduling.post(f"{group.base}/gatherings", headers=facilitator, json={
        "title": "Event", "venue": "Hall", "starts_at": soon(days=30), "ends_at": soon(days=30, hours=6), "capacity": 100})
    assert gathering.status_code == 201, gathering.text
    ids = {"p": made.json()["proposal_id"], "gathering": gathering.json()["gathering_id"]}
    return World(group, ids, {"decisions": api, "scheduling": scheduling, "publishing": publishing})


P = "{g}/proposals/{p}"
G = "{g}/gatherings/{gathering}"
# service, method, path, body (JSON value, or raw bytes), status, field the problem names
CASES: list[tuple[str, str, str, Any, int, str]] = [
    ("decisions", "PUT", "{g}/rule", {"counting": "organisation_parity", "double_majorty": True}, 422, "double_majorty"),
    ("decisions", "PUT", "{g}/rule", {"threshold": {"numerater": 2, "denominator": 3}}, 422, "threshold.numerater"),
    ("decisions", "PUT", "{g}/rule", {"quorum_per_organisation": HUGE}, 422, "quorum_per_organisation"),
    ("decisions", "PUT", "{g}/rule", {"quorum_per_organisation": -1}, 422, "quorum_per_organisation"),
    ("decisions", "PUT", "{g}/rule", {"threshold": {"numerator": 1, "denominator": HUGE}}, 422, "threshold.denominator"),
    ("decisions", "POST", "{g}/proposals", {"kind": "consent", "title": "t", "closes_at": NAIVE}, 422, "closes_at"),
    ("decisions", "POST", "{g}/proposals", {"kind": "consent", "title": "t", "closes_at": "SOON", "opens_at": NAIVE},
     422, "opens_at"),
    ("decisions", "POST", "{g}/proposals", {"kind": "time", "title": "t", "closes_at": "SOON", "options": [
        {"label": "a", "starts_at": NAIVE, "ends_at": "2030-05-01T11:30:00Z"}]}, 422, "options[0].starts_at"),
    ("decisions", "POST", "{g}/proposals", {"kind": "consent", "title": "t", "closes_at": "SOON",
                                            "rule": {"counting": "organisation_parity", "quorum_per_organisaton": 0}},
     422, "rule.quorum_per_organisaton"),
    ("decisions", "POST", "{g}/proposals", {"kind": "choice", "title": "t", "closes_at": "SOON",
                                            "options": [{"label": "a", "colour": "red"}, {"label": "b"}]},
     422, "options[0].colour"),
    ("decisions", "POST", "{g}/proposals", {"kind": "dot", "title": "t", "closes_at": "SOON", "dots": HUGE}, 422, "dots"),
    ("decisions", "POST", P + "/ballots", {"choice": {"scores": {"hall": 3}, "stanse": "agree"}}, 422, "choice.stanse"),
    ("decisions", "POST", P + "/ballots", {"choice": {"scores": {"hall": HUGE}}}, 422, "choice.scores[...]"),
    ("decisions", "POST", P + "/ballots", {"choice": {"scores": {"hall": -HUGE}}}, 422, "choice.scores[...]"),
    ("decisions", "POST", "{g}/members", {"name": "A", "organisation_id": "ORG", "lived_experiance": True},
     422, "lived_experiance"),
    # a body nested deeper than the decoder goes is refused at its first wrong value, never read to the end
    ("decisions", "PUT", "{g}/rule", DEEP.replace(b'"name"', b'"counting"'), 422, "counting"),
    ("decisions", "PUT", "{g}/rule", b'{"counting": "\xff\xfe"}', 400, "body"),
    ("decisions", "POST", P + "/ballots", b'{"choice": {"stance": "agree"}, "reason": "\xc3"}', 400, "body"),
    ("decisions", "POST", P + "/comments", DEEP, 422, "name"),
    ("decisions", "POST", P + "/comments", b'{"text": "unfinished', 400, "body"),
    ("decisions", "GET", "/log?after=" + str(2**63), None, 400, "after"),
    ("decisions", "GET", "{g}/proposals?after=" + str(HUGE), None, 400, "after"),
    ("decisions", "GET", "{g}/as-of?time=" + NAIVE, None, 400, "time"),
    ("decisions", "GET", "{g}/as-of", None, 400, "time"),  # a missing parameter is the query's, not the body's
    ("decisions", "POST", "{g}/checkpoints/" + str(HUGE) + "/signatures",
     {"organisation_id": "ORG", "signature": "AAAA"}, 400, "position"),
    ("scheduling", "POST", "{g}/meetings", {"title": "Weekly", "starts_at": NAIVE, "ends_at": "2030-05-01T11:30:00+01:00"},
     422, "starts_at"),
    ("scheduling", "POST", "{g}/meetings", {"title": "Weekly", "starts_at": "2030-05-01T10:30:00Z",
                                            "ends_at": "2030-05-01T11:30:00Z", "colour": "red"}, 422, "colour"),
    ("scheduling", "POST", "{g}/gatherings", {"title": "E", "venue": "V", "starts_at": "2030-05-01T10:30:00Z",
                                              "ends_at": "2030-05-01T18:30:00Z", "capacity": 10,
                                              "sessions": [{"title": "s", "starts_at": NAIVE, "ends_at": NAIVE}]},
     422, "sessions[0].starts_at"),
    ("scheduling", "POST", "{g}/gatherings", {"title": "E", "venue": "V", "starts_at": "2030-05-01T10:30:00Z",
                                              "ends_at": "2030-05-01T18:30:00Z", "capacity": HUGE}, 422, "capacity"),
    ("scheduling", "PUT", G + "/tables", {"tables": [{"table_id": "t1", "size": HUGE}]}, 422, "tables[0].size"),
    ("scheduling", "PUT", G + "/tables", {"tables": [{"table_id": "t1", "size": 8, "shape": "round"}]},
     422, "tables[0].shape"),
    ("scheduling", "PUT", G + "/capacity", {"max_roles": -1}, 422, "max_roles"),
    ("scheduling", "POST", "{g}/meetings", b"\xff", 400, "body"),
    ("publishing", "POST", "{g}/items", {"kind": "resource", "title": "t", "tagz": ["x"]}, 422, "tagz"),
    ("publishing", "POST", "{g}/webhooks", {"url": "https://partner.example/hook", "secret": "mine"}, 422, "secret"),
    ("publishing", "GET", "{g}/webhooks/" + str(uuid.UUID(int=1)) + "/deliveries?limit=" + str(HUGE), None, 400, "limit"),
    ("publishing", "POST", "{g}/items", DEEP, 422, "name"),
    # a time at the edge of the calendar: stored, it stopped every group's proposal list and the closer,
    # and a meeting at one broke its group's meetings and calendar feeds for good
    ("decisions", "POST", "{g}/proposals", {"kind": "consent", "title": "t", "closes_at": EDGE}, 422, "closes_at"),
    # a value of another type is refused, never converted (a number became a time in 1970, "10" the number 10)
    ("scheduling", "POST", "{g}/gatherings", {"title": "E", "venue": "V", "starts_at": 0,
                                              "ends_at": "2030-05-01T18:30:00Z", "capacity": 10}, 422, "starts_at"),
    ("scheduling", "POST", "{g}/gatherings", {"title": "E", "venue": "V", "starts_at": "2030-05-01T10:30:00Z",
                                              "ends_at": "2030-05-01T18:30:00Z", "capacity": "10"}, 422, "capacity"),
    ("decisions", "POST", "{g}/members", {"name": "A", "organisation_id": "ORG", "lived_experience": "true"},
     422, "lived_experience"),
    ("decisions", "POST", "{g}/members", {"name": "A", "organisation_id": "ORG", "lived_experience": 0},
     422, "lived_experience"),
    ("decisions", "POST", "{g}/proposals", {"kind": "consent", "title": "t", "closes_at": 1900000000.5}, 422,
     "closes_at"),
    ("decisions", "POST", "{g}/proposals", {"kind": "choice", "title": "t", "closes_at": "SOON",
                                            "options": [{"label": 1}, {"label": "b"}]}, 422, "options[0].label"),
    # a control character in text: U+0000 in a title stopped every group's proposal list and the closer
    ("decisions", "POST", "{g}/proposals", {"kind": "consent", "title": "a\u0000b", "closes_at": "SOON"}, 422, "title"),
    ("decisions", "POST", "{g}/proposals", {"kind": "choice", "title": "t", "closes_at": "SOON",
                                            "options": [{"label": "a\u001bb"}, {"label": "b"}]}, 422, "options[0].label"),
    ("publishing", "POST", "{g}/items", {"kind": "resource", "title": "t", "tags": ["ok", "x\u0007"]}, 422, "tags"),
    ("decisions", "POST", P + "/ballots", {"choice": {"scores": {"hall\u0000": 3}}}, 422, "choice.scores"),
    # no body where one is needed is a malformed body, not a missing field called 'data'
    ("decisions", "POST", "{g}/proposals", b"", 400, "body"),
    ("scheduling", "POST", "{g}/meetings", b"", 400, "body"),
    ("decisions", "POST", "{g}/proposals", {"kind": "time", "title": "t", "closes_at": "SOON", "options": [
        {"label": "a", "starts_at": EDGE, "ends_at": EDGE}]}, 422, "options[0].starts_at"),
    ("decisions", "POST", "{g}/members/MEMBER/tokens", {"expires_at": EDGE}, 422, "expires_at"),
    ("decisions", "GET", "{g}/as-of?time=" + EDGE.replace("-10:00", "-10%3A00"), None, 400, "time"),
    ("scheduling", "POST", "{g}/meetings", {"title": "Weekly", "starts_at": DAWN, "ends_at": "2030-05-01T11:30:00Z"},
     422, "starts_at"),
    ("scheduling", "POST", "{g}/meetings", {"title": "Weekly", "starts_at": "2030-05-01T10:30:00Z", "ends_at": EDGE},
     422, "ends_at"),
]


async def _events(store: EventStore, correlation: uuid.UUID | None = None) -> int:
    if correlation is None:
        return int(await store.pool.fetchval("SELECT count(*) FROM events"))
    return int(await store.pool.fetchval("SELECT count(*) FROM events WHERE correlation_id = $1", correlation))


@pytest.mark.parametrize(("service", "method", "path", "body", "status", "field"), CASES,
                         ids=[f"{n}-{c[0]}-{c[5]}" for n, c in enumerate(CASES)])
async def test_strict_input_is_refused_naming_the_field_and_leaves_no_event(
    world: World, store: EventStore, service: str, method: str, path: str, body: Any, status: int, field: str
) -> None:
    group = world.group
    if isinstance(body, bytes):
        content = body
    else:
        text = msgspec.json.encode(body).decode() if body is not None else ""
        content = text.replace("ORG", group.orgs[0]).replace('"SOON"', f'"{soon(days=1)}"').encode()
    path = path.replace("MEMBER", group.members["member"])
    request_id = uuid.uuid4()
    before = await _events(store)
    response = await world.clients[service].request(
        method, world.url(path), content=content or None,
        headers={**group.tokens["facilitator"], "Content-Type": "application/json", "X-Request-Id": str(request_id)})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == field, problem
    assert problem["status"] == status and problem["type"].startswith("urn:copro:problem:")
    if status == 400 and field == "body":
        assert problem["type"] == "urn:copro:problem:malformed-body"
    assert await _events(store, request_id) == 0
    assert await _events(store) == before


async def test_a_bad_last_event_id_is_refused_not_a_500(world: World) -> None:
    response = await world.clients["publishing"].get(
        f"{world.group.base}/events/stream",
        headers={**world.group.tokens["member"], "Last-Event-ID": str(HUGE)})
    assert response.status_code == 400 and response.json()["field"] == "Last-Event-ID"


async def test_a_meeting_stored_without_an_offset_before_offsets_were_required_still_lists(
    world: World, store: EventStore
) -> None:
    """The log may already hold one (the tester's find): it reads as UTC instead of failing the group's list."""
    meeting_id = uuid.uuid4()
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, tzinfo=None)
    legacy = MeetingScheduled(meeting_id=meeting_id, group_id=uuid.UUID(world.group.id), title="Legacy", starts_at=start,
                              ends_at=start + timedelta(hours=1), location="", rrule=None, source_proposal_id=None,
                              by=None, at=datetime.now(UTC))
    stored = NewEvent(id=uuid.uuid4(), type="scheduling.MeetingScheduled", data=legacy)
    await store.append(group_id=uuid.UUID(world.group.id), stream_id=meeting_stream(meeting_id), events=[stored],
                       expected_version=0)
    listed = await world.clients["scheduling"].get(f"{world.group.base}/meetings", headers=world.group.tokens["member"])
    assert listed.status_code == 200, listed.text
    [shown] = [m for m in listed.json() if m["meeting_id"] == str(meeting_id)]
    assert shown["next"][0]["starts_at"] == start.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


async def test_a_parity_group_needs_a_voter_from_every_partner_by_default(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    created = await api.post("/groups", headers=operator, json={
        "name": "Parity", "organisations": [{"name": "A"}, {"name": "B"}, {"name": "C"}],
        "rule": {"counting": "organisation_parity"}})
    assert created.status_code == 201, created.text
    assert created.json()["rule"]["quorum_per_organisation"] == 1
    group = Group(created.json())
    await add(api, operator, group, "facilitator", "facilitator", org=0)
    await add(api, operator, group, "member", "member", org=0)
    opened = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "consent", "title": "Hold the event in March", "closes_at": soon(days=2)})
    assert opened.status_code == 201, opened.text
    proposal = f"{group.base}/proposals/{opened.json()['proposal_id']}"
    assert "at least 1 voter(s) from every partner" in opened.json()["rule_in_words"]
    for who in ("member", "facilitator"):
        voted = await api.post(f"{proposal}/ballots", headers=group.tokens[who], json={"choice": {"stance": "agree"}})
        assert voted.status_code == 201, voted.text
    closed = await api.post(f"{proposal}/close", headers=group.tokens["facilitator"])
    assert closed.status_code == 200, closed.text
    outcome = closed.json()["outcome"]
    assert outcome["result"] == "no_quorum"
    a, b, c = group.orgs
    assert f"Turnout per partner organisation: {a}: 2 voters, {b}: 0 voters, {c}: 0 voters." in outcome["explanation"]


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_an_idempotency_key_outside_its_documented_length_is_refused(world: World, store: EventStore,
                                                                          key: str) -> None:
    before = await _events(store)
    response = await world.clients["decisions"].post(
        f"{world.group.base}/proposals", json={"kind": "consent", "title": "t", "closes_at": soon(days=1)},
        headers={**world.group.tokens["facilitator"], "Idempotency-Key": key})
    assert response.status_code == 400 and response.json()["field"] == "Idempotency-Key", response.text
    assert await _events(store) == before


@pytest.mark.parametrize("after", ["-1", str(2**63)])
async def test_the_events_streams_cursor_is_checked_like_every_other(world: World, after: str) -> None:
    """``after`` on the events stream streamed from the start (-1) or never (2^63, and logged the database as
    away on every retry): its bounds were documented and checked nowhere (the partner's find)."""
    response = await world.clients["publishing"].get(f"{world.group.base}/events/stream?after={after}",
                                                     headers=world.group.tokens["member"])
    assert response.status_code == 400 and response.json()["field"] == "after", response.text


async def test_a_title_recorded_with_u0000_is_listed_and_stops_no_one(world: World, store: EventStore) -> None:
    """A log written before control characters were refused may hold one: the proposal list reads it as U+FFFD
    instead of failing on it, for every group, for good (the attacker's find)."""
    from services.decisions.domain.proposal import proposal_stream
    from services.decisions.events import ProposalAmended
    from shared.domain.ids import new_id, utc_now

    group = world.group
    made = await world.clients["decisions"].post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "consent", "title": "Plain", "closes_at": soon(days=3)})
    proposal = uuid.UUID(made.json()["proposal_id"])
    amended = ProposalAmended(proposal_id=proposal, by=uuid.UUID(group.members["member"]), title="a\x00b", body="",
                              options=(), ballots_reset=False, at=utc_now())
    await store.append(group_id=uuid.UUID(group.id), stream_id=proposal_stream(proposal), expected_version=1,
                       events=[NewEvent(id=new_id(), type="decisions.ProposalAmended", data=amended)])
    for _ in range(600):
        listed = (await world.clients["decisions"].get(f"{group.base}/proposals", headers=group.tokens["member"])).json()
        titles = {p["proposal_id"]: p["title"] for p in listed["proposals"]}
        if titles.get(str(proposal)) == "a\ufffdb":
            break
        await asyncio.sleep(0.05)
    assert titles.get(str(proposal)) == "a\ufffdb", titles
