"""The world the authorization matrix runs in: one group with a member of every kind, and one of each
resource owned by "the owner" (a member), made fresh for every write that uses one up.

Principals: the operator; the group's facilitator, the owner (a member who owns the resources), another
member (owns none of them), an auditor and an observer; a member of another group; the owner's revoked
token and the owner's expired token; and no token at all.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from litestar.testing import AsyncTestClient

from shared.audit.signing import message
from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from tests.conftest import eventually, wait_sealed
from tests.integration.decisions_client import Group, add, bearer, make_group, soon
from tests.integration.events import noted

PRINCIPALS = ("operator", "facilitator", "owner", "member", "auditor", "observer", "stranger", "revoked", "expired",
              "anonymous")

Client = AsyncTestClient[Any]


def _start() -> datetime:
    return (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)


@dataclass
class World:
    decisions: Client
    scheduling: Client
    publishing: Client
    group: Group
    other: Group
    operator: dict[str, str]
    stream_base: str = ""
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    made: dict[str, Any] = field(default_factory=dict)
    """Resources made once and only read (or used by one principal alone)."""
    partner: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def g(self) -> str:
        return self.group.base

    def own(self) -> dict[str, str]:
        return self.group.tokens["owner"]

    def fac(self) -> dict[str, str]:
        return self.group.tokens["facilitator"]

    async def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    # -- decisions ------------------------------------------------------------------------------

    async def proposal(self, ballot: bool = False) -> str:
        made = await self.ok(await self.decisions.post(f"{self.g}/proposals", headers=self.own(), json={
            "kind": "consent", "title": "Use the quiet room", "closes_at": soon(days=3)}))
        url = f"{self.g}/proposals/{made['proposal_id']}"
        if ballot:
            await self.ok(await self.decisions.post(f"{url}/ballots", headers=self.own(),
                                                    json={"choice": {"stance": "agree"}}))
        return url

    async def temp_member(self) -> str:
        made = await self.ok(await self.decisions.post(f"{self.g}/members", headers=self.operator, json={
            "name": "Temporary Person", "organisation_id": self.group.orgs[1]}))
        return str(made["member_id"])

    async def temp_token(self) -> str:
        member = await self.temp_member()
        made = await self.ok(await self.decisions.post(f"{self.g}/members/{member}/tokens", headers=self.operator))
        return str(made["token_id"])

    # -- scheduling -----------------------------------------------------------------------------

    async def meeting(self) -> str:
        start = _start()
        made = await self.ok(await self.scheduling.post(f"{self.g}/meetings", headers=self.fac(), json={
            "title": "Working group", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "rrule": "FREQ=WEEKLY;COUNT=20"}))
        return f"{self.g}/meetings/{made['meeting_id']}"

    async def feed(self, personal: bool) -> str:
        made = await self.ok(await self.scheduling.post(
            f"{self.g}/calendar-feeds", params={"personal": str(personal).lower()},
            headers=self.own() if personal else self.fac()))
        self.made.setdefault("feed_url", made["url"])
        return str(made["feed_id"])

    async def gathering(self) -> str:
        start = _start()
        made = await self.ok(await self.scheduling.post(f"{self.g}/gatherings", headers=self.fac(), json={
            "title": "Gathering", "venue": "Hall", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=6)).isoformat(), "capacity": 50}))
        return f"{self.g}/gatherings/{made['gathering_id']}"

    async def role(self, holder: bool = False) -> tuple[str, str]:
        """A fresh gathering and a role in it; ``holder``: the owner signed up for it."""
        gathering = await self.gathering()
        made = await self.ok(await self.scheduling.post(f"{gathering}/roles", headers=self.fac(),
                                                        json={"name": "Host", "places": 3}))
        role_id = made["roles"][-1]["role_id"]
        if holder:
            await self.ok(await self.scheduling.post(f"{gathering}/roles/{role_id}/sign-ups", headers=self.own()))
        return gathering, role_id

    async def attendee(self, gathering: str) -> str:
        made = await self.ok(await self.scheduling.post(f"{gathering}/attendees", headers=self.own(), json={
            "name": f"Guest {new_id().hex[-12:]}", "perspective": "lived_experience", "organisation": "Partner 1"}))
        return str(made["attendee_id"])

    async def seated(self) -> str:
        """A gathering with tables and an attendee, planned (so it can be re-planned or locked)."""
        gathering = await self.gathering()
        await self.attendee(gathering)
        await self.ok(await self.scheduling.put(f"{gathering}/tables", headers=self.fac(),
                                                json={"tables": [{"table_id": "T1", "size": 4}]}))
        await self.ok(await self.scheduling.post(f"{gathering}/table-plan", headers=self.fac()))
        return gathering

    # -- publishing -----------------------------------------------------------------------------

    async def item(self) -> str:
        made = await self.ok(await self.publishing.post(f"{self.g}/items", headers=self.own(), json={
            "kind": "reflection", "title": "What we learnt", "body": "Equal responsibility."}))
        return f"{self.g}/items/{made['item_id']}"

    async def published_item(self) -> str:
        """An item of the owner's, published by the group's consent (through decisions, over NATS)."""
        item = await self.item()
        requested = await self.ok(await self.publishing.post(f"{item}/publication", headers=self.own(), json={}))
        proposal = f"{self.g}/proposals/{requested['proposal_id']}"

        async def opened() -> bool:
            return (await self.decisions.get(proposal, headers=self.own())).status_code == 200

        await eventually(opened, 60, "decisions opening the consent proposal")
        for who in ("owner", "facilitator", "member"):  # one of every partner organisation
            await self.ok(await self.decisions.post(f"{proposal}/ballots", headers=self.group.tokens[who],
                                                    json={"choice": {"stance": "agree"}}))
        await self.ok(await self.decisions.post(f"{proposal}/close", headers=self.fac()))

        async def published() -> bool:
            status = (await self.publishing.get(item, headers=self.own())).json()["status"]
            assert status != "refused", status
            return bool(status == "published")

        await eventually(published, 60, "the item published")
        return item

    async def webhook(self) -> str:
        made = await self.ok(await self.publishing.post(f"{self.g}/webhooks", headers=self.fac(), json={
            "url": "http://127.0.0.1:9/partner-hook", "event_types": ["publishing.*"]}))
        return f"{self.g}/webhooks/{made['subscription_id']}"

    # -- kernel ---------------------------------------------------------------------------------

    async def checkpoint(self, store: EventStore) -> int:
        """Enough events for a checkpoint (one every 1,000 positions), sealed."""
        other = new_id()
        for k in range(11):
            await store.append(group_id=other, stream_id=f"filler-{other}-{k}", expected_version=0,
                               events=[noted(i) for i in range(100)])
        await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"), 60)
        return int(await store.pool.fetchval("SELECT max(position) FROM checkpoints"))

    def signature(self, position: int, global_hash: bytes) -> str:
        return base64.b64encode(self.partner.sign(message(position, global_hash))).decode()

    def partner_key(self) -> str:
        return base64.b64encode(self.partner.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


async def expired_token(world: World) -> dict[str, str]:
    """A token of the owner's that expires in a moment; returned once it answers 401."""
    member = world.group.members["owner"]
    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    made = await world.ok(await world.decisions.post(f"{world.g}/members/{member}/tokens", headers=world.operator,
                                                     json={"expires_at": at}))
    headers = bearer(made["token"])
    assert (await world.decisions.get(world.g, headers=headers)).status_code == 200

    async def expired() -> bool:
        return (await world.decisions.get(world.g, headers=headers)).status_code == 401

    await eventually(expired, 60, "the token expiring")
    return headers


async def build(decisions: Client, scheduling: Client, publishing: Client, operator: dict[str, str],
                store: EventStore) -> World:
    group, other = await make_group(decisions, operator), await make_group(decisions, operator)
    world = World(decisions, scheduling, publishing, group, other, operator)
    await add(decisions, operator, group, "owner", "member", org=2, lived=True, name="Owner Person")
    owner = group.members["owner"]
    revoked = await world.ok(await decisions.post(f"{world.g}/members/{owner}/tokens", headers=operator))
    await world.ok(await decisions.delete(f"{world.g}/tokens/{revoked['token_id']}", headers=operator))
    world.headers = {**{p: group.tokens[p] for p in ("facilitator", "owner", "member", "auditor", "observer")},
                     "operator": operator, "stranger": other.tokens["member"], "revoked": bearer(revoked["token"]),
                     "anonymous": {}}
    world.made["position"] = await world.checkpoint(store)
    world.made["global_hash"] = bytes(await store.pool.fetchval(
        "SELECT global_hash FROM checkpoints WHERE position = $1", world.made["position"]))
    await world.ok(await decisions.put(f"{world.g}/organisations/{group.orgs[0]}/key", headers=world.fac(),
                                       json={"public_key": world.partner_key()}))
    world.made["proposal"] = await world.proposal(ballot=True)
    history = await world.ok(await decisions.get(f"{world.made['proposal']}/history", headers=operator))
    world.made["event_id"] = history[0]["id"]
    world.made["meeting"] = await world.meeting()
    await world.feed(personal=True)
    world.made["gathering"] = await world.seated()
    world.made["item"] = await world.item()
    world.made["webhook"] = await world.webhook()
    world.made["published"], world.headers["expired"] = await asyncio.gather(world.published_item(),
                                                                             expired_token(world))
    return world
