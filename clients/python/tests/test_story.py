"""The seed's story through the client alone, against a real copro: the three services under uvicorn on free
loopback ports, on a real PostgreSQL and NATS. A working group of three partner organisations opens a proposal
and votes; a partner system follows the group's events over NATS with a durable subscription across a restart
of itself (nothing acknowledged comes again, nothing unacknowledged is lost), and verifies a webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from copro_client import Copro, CoproProblem, GroupSubscription, Received, WebhookVerificationError, verify_webhook
from copro_client.events.decisions import BallotCast, ProposalClosed, ProposalOpened
from copro_client.types_decisions import BallotIn, Choice, CreateGroupIn, MemberIn, OrganisationIn, ProposalIn, RuleIn
from copro_client.types_publishing import WebhookIn
from shared.runtime.embedded import EmbeddedNats, free_port
from shared.runtime.settings import Settings
from tests.integration.receiver import Receiver
from tests.integration.served import served


@pytest.fixture(scope="module")
def urls(database_url: str, own_nats: EmbeddedNats, settings: Settings) -> Iterator[dict[str, str]]:
    with contextlib.ExitStack() as stack:
        yield {s: stack.enter_context(served(s, database_url, own_nats, settings.home))
               for s in ("decisions", "scheduling", "publishing")}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver(free_port())
    found.start()
    yield found
    found.stop()


def copro(urls: dict[str, str], token: str) -> Copro:
    return Copro(urls["decisions"], urls["scheduling"], urls["publishing"], token)


async def collect(subscription: GroupSubscription, until: Any, *, ack: bool = True) -> list[Received]:
    """Events until ``until(received)`` is true for one; each acknowledged unless told not to."""
    got: list[Received] = []
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        for delivery in await subscription.fetch(wait=0.5):
            got.append(delivery.received)
            if ack:
                await delivery.ack()
            if until(delivery.received):
                return got
    raise AssertionError(f"not received in time; got {[r.type for r in got]}")


async def test_the_seed_story_through_the_client(urls: dict[str, str], own_nats: EmbeddedNats, settings: Settings,
                                                 receiver: Receiver) -> None:
    operator = copro(urls, settings.operator_token_path.read_text().strip())
    group = await operator.decisions.create_group(CreateGroupIn(
        name="Planning group", rule=RuleIn(counting="organisation_parity"), organisations=[
            OrganisationIn(name="Changing Futures"), OrganisationIn(name="Possability People"),
            OrganisationIn(name="SCALE Network")]))
    members = {}
    for n, (name, roles) in enumerate((("Ada", ["facilitator"]), ("Bea", ["member"]), ("Cal", ["member"]))):
        member = await operator.decisions.add_member(group.group_id, MemberIn(
            name=name, organisation_id=group.organisations[n].id, lived_experience=n != 1, roles=roles))
        members[name] = copro(urls, (await operator.decisions.issue_token(group.group_id, member.member_id, None)).token)
    ada = members["Ada"]
    hook = await ada.publishing.register_webhook(group.group_id, WebhookIn(url=receiver.url, event_types=["decisions.*"],
                                                                          start="beginning"))
    assert hook.secret is not None and hook.secret.startswith("whsec_")

    proposal = await ada.decisions.open_proposal(group.group_id, ProposalIn(
        kind="consent", title="Hold the event in March", closes_at=datetime.now(UTC) + timedelta(days=30)),
        idempotency_key=f"open-{uuid.uuid4()}")
    with pytest.raises(CoproProblem) as refused:  # typed errors: Bea may not close it early
        await members["Bea"].decisions.close_proposal(group.group_id, proposal.proposal_id)
    assert refused.value.status == 403 and refused.value.slug == "forbidden"

    # the partner system follows the group: first run, up to the proposal, then it stops
    # the embedded NATS has no partner accounts (deploy/nats/partners.conf has them, tested in test_nats_partners):
    # here the partner logs in with the admin user
    subscription = dict(nats_url=own_nats.admin_url, group_id=group.group_id, durable=f"crm-{uuid.uuid4().hex[:8]}",
                        ack_wait=2.0)
    async with GroupSubscription(**subscription) as events:  # type: ignore[arg-type]
        first = await collect(events, lambda r: isinstance(r.event, ProposalOpened))
    opened = first[-1].event
    assert isinstance(opened, ProposalOpened) and opened.title == "Hold the event in March"

    for name, stance in (("Ada", "agree"), ("Bea", "agree"), ("Cal", "abstain")):
        ballot = await members[name].decisions.cast_ballot(group.group_id, proposal.proposal_id, BallotIn(
            choice=Choice(stance=stance), reason="Fits the school holidays" if name == "Bea" else None))
        assert ballot.choice.stance == stance
    closed = await ada.decisions.close_proposal(group.group_id, proposal.proposal_id)
    assert closed.outcome is not None and closed.outcome.result == "passed"

    # second run: takes one event and dies before acknowledging it
    async with GroupSubscription(**subscription, batch=1) as events:  # type: ignore[arg-type]
        unacked = await collect(events, lambda r: True, ack=False)
    # third run: resumes where it left off: everything after the first run, the unacknowledged event again
    # (once its ack_wait is over), nothing the first run acknowledged
    seen: set[uuid.UUID] = set()

    def done(r: Received) -> bool:
        seen.add(r.id)
        return unacked[0].id in seen and any(isinstance(x.event, ProposalClosed) for x in rest_so_far)

    rest_so_far: list[Received] = []
    async with GroupSubscription(**subscription) as events:  # type: ignore[arg-type]
        rest = await collect(events, lambda r: rest_so_far.append(r) is None and done(r))
    assert unacked[0].id in {r.id for r in rest}
    assert not {r.id for r in first} & {r.id for r in rest}
    assert max(r.position or 0 for r in first) < min(r.position or 0 for r in rest)
    ballots = [r.event for r in rest if isinstance(r.event, BallotCast)]
    assert len(ballots) == 3 and {b.choice.stance for b in ballots if b.choice} == {"agree", "abstain"}
    reasons = [b.reason for b in ballots if b.reason]
    assert reasons and all(r.startswith("pii:v1:") for r in reasons)  # personal data travels encrypted

    # the webhook: every decisions event, signed; verified with the secret shown once
    async def delivered() -> list[tuple[dict[str, str], bytes]]:
        for _ in range(300):
            if any(b"decisions.ProposalClosed" in body for _, body in receiver.received):
                return list(receiver.received)
            await asyncio.sleep(0.1)
        raise AssertionError("the webhook was not delivered")

    deliveries = await delivered()
    verified = [verify_webhook(hook.secret, body, headers) for headers, body in deliveries]
    assert {v.type for v in verified} >= {"decisions.GroupCreated", "decisions.BallotCast", "decisions.ProposalClosed"}
    assert any(isinstance(v.event, ProposalClosed) and v.event.proposal_id == proposal.proposal_id for v in verified)
    headers, body = deliveries[-1]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hook.secret, body.replace(b"decisions", b"decisionz", 1), headers)
    for client in (operator, *members.values()):
        await client.close()
