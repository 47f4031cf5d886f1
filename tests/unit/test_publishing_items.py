"""Given an item's (or a webhook's) events, when a command arrives, then these events or this refusal.

The last tests run the generic handler around the item decider against the
in-memory event log: a conflicting writer is retried, a repeat records nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.publishing.domain.items import (
    AddAuthor,
    ChooseAttribution,
    Draft,
    Item,
    ItemCommand,
    RecordDecision,
    RequestPublication,
    Revise,
    Withdraw,
    item_decider,
    item_stream,
)
from services.publishing.domain.webhooks import Disable, Register, Remove, webhook_decider
from services.publishing.events import (
    CONTRACT,
    AttributionChosen,
    Author,
    AuthorAdded,
    Content,
    ItemDrafted,
    ItemEvent,
    ItemPublished,
    ItemRevised,
    ItemWithdrawn,
    PublicationRefused,
    PublicationRequested,
    WebhookDisabled,
    WebhookRegistered,
    WebhookRemoved,
)
from shared.access.secrets import fingerprint
from shared.domain.decider import event_type_name
from shared.domain.errors import CommandRejected, ConcurrencyConflict, Forbidden, InvalidCommand, NotFound
from shared.domain.specification import DeciderSpecification
from shared.eventlog.envelope import AppendResult, Metadata, NewEvent
from shared.eventlog.handler import StateCache, handle, load
from shared.eventlog.memory import InMemoryEventStore


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
ITEM, GROUP, PROPOSAL, LATER_PROPOSAL = uid(100), uid(200), uid(300), uid(301)
ADA, BEN, CAL = uid(1), uid(2), uid(3)  # Ada drafts; Ben becomes co-author; Cal is only a member
ORG_A, ORG_B = uid(11), uid(12)
ADA_AUTHOR = Author(ADA, ORG_A, "full_name")
BEN_AUTHOR = Author(BEN, ORG_B, "first_name")
FIRST = Content(title="What co-producing taught us", body="We trusted each other.", tags=("co-production",),
                attachments=("https://example.org/slides.pdf",))
SECOND = Content(title="What co-producing taught us", body="Freedom to contribute as much or as little.")

items = DeciderSpecification(item_decider)
webhooks = DeciderSpecification(webhook_decider)

DRAFT = Draft(item_id=ITEM, group_id=GROUP, kind="reflection", author=ADA_AUTHOR, content=FIRST, at=T0)
DRAFTED = ItemDrafted(item_id=ITEM, group_id=GROUP, kind="reflection", author=ADA_AUTHOR, content=FIRST, at=T0)
BEN_ADDED = AuthorAdded(item_id=ITEM, author=BEN_AUTHOR, by=ADA, at=T0)
REVISED = ItemRevised(item_id=ITEM, revision=2, content=SECOND, by=BEN, at=T0 + timedelta(hours=1))
CLOSES = T0 + timedelta(days=7)
REQUESTED = PublicationRequested(item_id=ITEM, group_id=GROUP, proposal_id=PROPOSAL, requested_by=ADA,
                                 title=FIRST.title, summary=FIRST.body, closes_at=CLOSES, at=T0)
PUBLISHED = ItemPublished(item_id=ITEM, proposal_id=PROPOSAL, revision=1, at=CLOSES)
REFUSED = PublicationRefused(item_id=ITEM, proposal_id=PROPOSAL, result="blocked", explanation="Blocked: not yet",
                             at=CLOSES)


# -- items: drafting ------------------------------------------------------------------------------


def test_a_member_drafts_an_item_as_its_first_author() -> None:
    done = items.given().when(DRAFT).then(DRAFTED)
    assert done.state.status == "draft" and done.state.authors == (ADA_AUTHOR,) and done.state.revisions == (FIRST,)


def test_an_item_is_drafted_once() -> None:
    items.given(DRAFTED).when(DRAFT).then_fails(CommandRejected, "this item exists already")


def test_a_draft_needs_a_title() -> None:
    untitled = msgspec.structs.replace(DRAFT, content=Content(title="   ", body="text"))
    error = items.given().when(untitled).then_fails(InvalidCommand, "an item needs a title")
    assert isinstance(error, InvalidCommand) and error.field == "title"


def test_attachments_are_web_links() -> None:
    content = Content(title="Slides", body="", attachments=("https://example.org/a.pdf", "ftp://example.org/b.pdf"))
    error = items.given().when(msgspec.structs.replace(DRAFT, content=content)).then_fails(
        InvalidCommand, "attachments are links (http or https)")
    assert isinstance(error, InvalidCommand) and error.field == "attachments[1]"


def test_a_command_on_an_item_that_was_never_drafted_finds_nothing() -> None:
    items.given().when(Revise(by=ADA, content=SECOND, at=T0)).then_fails(NotFound, "no such item")
    items.given().when(RecordDecision(proposal_id=PROPOSAL, result="passed", explanation="", at=T0)).then_fails(
        NotFound, "no such item")


# -- items: authors, revisions, credits -----------------------------------------------------------


def test_an_author_adds_a_co_author_from_another_organisation() -> None:
    done = items.given(DRAFTED).when(AddAuthor(by=ADA, author=BEN_AUTHOR, at=T0)).then(BEN_ADDED)
    assert done.state.authors == (ADA_AUTHOR, BEN_AUTHOR)


def test_only_an_author_changes_an_item() -> None:
    for command in (AddAuthor(by=CAL, author=Author(CAL, ORG_A, "full_name"), at=T0),
                    Revise(by=CAL, content=SECOND, at=T0),
                    ChooseAttribution(by=CAL, attribution="anonymous", at=T0),
                    RequestPublication(by=CAL, proposal_id=PROPOSAL, closes_at=CLOSES, at=T0),
                    Withdraw(by=CAL, reason="mine now", at=T0)):
        items.given(DRAFTED).when(command).then_fails(Forbidden, "only an author of the item can do that")


def test_an_author_is_added_once() -> None:
    items.given(DRAFTED, BEN_ADDED).when(AddAuthor(by=BEN, author=BEN_AUTHOR, at=T0)).then_fails(
        CommandRejected, "already an author")


def test_a_co_author_revises_and_the_revisions_are_counted() -> None:
    done = items.given(DRAFTED, BEN_ADDED).when(Revise(by=BEN, content=SECOND, at=REVISED.at)).then(REVISED)
    assert done.state.content == SECOND and done.state.revisions == (FIRST, SECOND)


def test_a_revision_that_changes_nothing_records_nothing() -> None:
    items.given(DRAFTED).when(Revise(by=ADA, content=FIRST, at=T0)).then_nothing()


def test_a_revision_needs_a_title_too() -> None:
    items.given(DRAFTED).when(Revise(by=ADA, content=Content(title="", body="x"), at=T0)).then_fails(
        InvalidCommand, "an item needs a title")


def test_each_author_chooses_how_they_are_credited() -> None:
    done = items.given(DRAFTED, BEN_ADDED).when(ChooseAttribution(by=BEN, attribution="anonymous", at=T0)).then(
        AttributionChosen(item_id=ITEM, member_id=BEN, attribution="anonymous", at=T0))
    assert done.state.authors == (ADA_AUTHOR, Author(BEN, ORG_B, "anonymous"))


def test_credits_may_change_even_once_published() -> None:
    items.given(DRAFTED, REQUESTED, PUBLISHED).when(ChooseAttribution(by=ADA, attribution="first_name", at=T0)).then(
        AttributionChosen(item_id=ITEM, member_id=ADA, attribution="first_name", at=T0))


# -- items: publication by the group's consent ----------------------------------------------------


def test_an_author_asks_the_group_to_publish_with_the_current_title_and_a_summary() -> None:
    long = Content(title="A long reflection", body="x" * 800)
    revised = ItemRevised(item_id=ITEM, revision=2, content=long, by=ADA, at=T0)
    done = items.given(DRAFTED, revised).when(
        RequestPublication(by=ADA, proposal_id=PROPOSAL, closes_at=CLOSES, at=T0)).then(
        PublicationRequested(item_id=ITEM, group_id=GROUP, proposal_id=PROPOSAL, requested_by=ADA,
                             title="A long reflection", summary="x" * 500, closes_at=CLOSES, at=T0))
    assert done.state.status == "awaiting_approval" and done.state.proposal_id == PROPOSAL


def test_nothing_changes_while_the_group_decides() -> None:
    for command in (AddAuthor(by=ADA, author=BEN_AUTHOR, at=T0), Revise(by=ADA, content=SECOND, at=T0),
                    RequestPublication(by=ADA, proposal_id=LATER_PROPOSAL, closes_at=CLOSES, at=T0)):
        items.given(DRAFTED, REQUESTED).when(command).then_fails(
            CommandRejected, "the item is awaiting approval: it cannot change now")


def test_a_passed_proposal_publishes_the_revision_the_group_saw() -> None:
    done = items.given(DRAFTED, REQUESTED).when(
        RecordDecision(proposal_id=PROPOSAL, result="passed", explanation="Agreed.", at=CLOSES)).then(PUBLISHED)
    assert done.state.status == "published" and done.state.published_revision == 1
    assert done.state.published_at == CLOSES


def test_a_blocked_proposal_refuses_publication_and_says_why() -> None:
    done = items.given(DRAFTED, REQUESTED).when(
        RecordDecision(proposal_id=PROPOSAL, result="blocked", explanation="Blocked: not yet", at=CLOSES)).then(REFUSED)
    assert done.state.status == "refused" and done.state.refusal == "blocked: Blocked: not yet"


def test_a_refused_item_is_revised_and_asked_for_again() -> None:
    revised = items.given(DRAFTED, REQUESTED, REFUSED).when(Revise(by=ADA, content=SECOND, at=T0)).then(
        ItemRevised(item_id=ITEM, revision=2, content=SECOND, by=ADA, at=T0))
    again = PublicationRequested(item_id=ITEM, group_id=GROUP, proposal_id=LATER_PROPOSAL, requested_by=ADA,
                                 title=SECOND.title, summary=SECOND.body, closes_at=CLOSES, at=T0)
    done = items.given(DRAFTED, REQUESTED, REFUSED, *revised.events).when(
        RequestPublication(by=ADA, proposal_id=LATER_PROPOSAL, closes_at=CLOSES, at=T0)).then(again)
    assert done.state.refusal is None and done.state.proposal_id == LATER_PROPOSAL


def test_a_decision_on_another_or_an_earlier_proposal_or_a_redelivery_changes_nothing() -> None:
    other = RecordDecision(proposal_id=LATER_PROPOSAL, result="passed", explanation="", at=CLOSES)
    items.given(DRAFTED, REQUESTED).when(other).then_nothing()
    items.given(DRAFTED).when(other).then_nothing()
    repeat = RecordDecision(proposal_id=PROPOSAL, result="passed", explanation="", at=CLOSES)
    items.given(DRAFTED, REQUESTED, PUBLISHED).when(repeat).then_nothing()


def test_any_author_withdraws_a_published_item() -> None:
    done = items.given(DRAFTED, BEN_ADDED, REQUESTED, PUBLISHED).when(
        Withdraw(by=BEN, reason="we want to add the table plan", at=T0)).then(
        ItemWithdrawn(item_id=ITEM, by=BEN, reason="we want to add the table plan", at=T0))
    assert done.state.status == "withdrawn"


def test_only_a_published_item_is_withdrawn() -> None:
    items.given(DRAFTED).when(Withdraw(by=ADA, reason="r", at=T0)).then_fails(
        CommandRejected, "the item is draft, not published")
    items.given(DRAFTED, REQUESTED).when(Withdraw(by=ADA, reason="r", at=T0)).then_fails(
        CommandRejected, "the item is awaiting_approval, not published")


def test_commands_in_turn_give_the_same_history_as_the_events() -> None:
    history = items.given_commands(DRAFT, AddAuthor(by=ADA, author=BEN_AUTHOR, at=T0),
                                   RequestPublication(by=ADA, proposal_id=PROPOSAL, closes_at=CLOSES, at=T0))
    assert history.history == [DRAFTED, BEN_ADDED, REQUESTED]
    assert history.state.status == "awaiting_approval"


@given(st.lists(st.sampled_from(["revise", "attribution", "author"]), max_size=12))
def test_whatever_authors_do_to_a_draft_its_revisions_count_one_up(steps: list[str]) -> None:
    history: list[object] = [DRAFTED]
    state = item_decider.fold([DRAFTED])
    for n, step in enumerate(steps):
        command: ItemCommand
        if step == "revise":
            command = Revise(by=ADA, content=Content(title=f"Take {n}", body=""), at=T0)
        elif step == "attribution":
            command = ChooseAttribution(by=ADA, attribution="anonymous", at=T0)
        else:
            command = AddAuthor(by=ADA, author=Author(uid(1000 + n), ORG_B, "full_name"), at=T0)
        events = item_decider.decide(command, state)
        history.extend(events)
        state = item_decider.fold(events, state)
    assert [e.revision for e in history if isinstance(e, ItemRevised)] == list(range(2, len(state.revisions) + 1))
    assert state.status == "draft" and len({a.member_id for a in state.authors}) == len(state.authors)


# -- webhooks -------------------------------------------------------------------------------------

HOOK = uid(400)
REGISTER = Register(subscription_id=HOOK, group_id=GROUP, url="https://crm.example.org/hooks", event_types=("*",),
                    secret_fingerprint=fingerprint("whsec_abc"), start_after=42, by=ADA, at=T0)
REGISTERED = WebhookRegistered(subscription_id=HOOK, group_id=GROUP,
                               endpoint_fingerprint=fingerprint("https://crm.example.org/hooks"),
                               event_types=("*",), secret_fingerprint=fingerprint("whsec_abc"), start_after=42,
                               by=ADA, at=T0)
DISABLED = WebhookDisabled(subscription_id=HOOK, reason="the endpoint answered 410 Gone", at=T0)


def test_a_facilitator_registers_a_webhook() -> None:
    done = webhooks.given().when(REGISTER).then(REGISTERED)
    assert done.state.status == "active" and done.state.live


def test_the_registration_names_the_partners_url_by_its_fingerprint_only() -> None:
    """The event reaches every partner and every audit export, and the URL may carry the partner's token."""
    (registered,) = webhooks.given().when(REGISTER).events
    assert b"crm.example.org" not in msgspec.json.encode(registered)


def test_a_webhook_is_registered_once() -> None:
    webhooks.given(REGISTERED).when(REGISTER).then_fails(CommandRejected, "this subscription exists already")


def test_a_webhook_url_is_http_or_https() -> None:
    error = webhooks.given().when(msgspec.structs.replace(REGISTER, url="ftp://crm.example.org/hooks")).then_fails(
        InvalidCommand, "a webhook URL starts with http:// or https://")
    assert isinstance(error, InvalidCommand) and error.field == "url"


def test_410_gone_disables_a_webhook_once() -> None:
    disable = Disable(reason="the endpoint answered 410 Gone", at=T0)
    done = webhooks.given(REGISTERED).when(disable).then(DISABLED)
    assert done.state.status == "disabled" and done.state.reason == "the endpoint answered 410 Gone"
    assert done.state.live  # still listed, with its status
    webhooks.given(REGISTERED, DISABLED).when(disable).then_nothing()


def test_a_removed_webhook_is_gone() -> None:
    done = webhooks.given(REGISTERED, DISABLED).when(Remove(by=ADA, at=T0)).then(
        WebhookRemoved(subscription_id=HOOK, by=ADA, at=T0))
    assert done.state.status == "removed" and not done.state.live
    removed = WebhookRemoved(subscription_id=HOOK, by=None, at=T0)
    webhooks.given(REGISTERED, removed).when(Remove(by=ADA, at=T0)).then_fails(NotFound, "no such webhook")
    webhooks.given(REGISTERED, removed).when(Disable(reason="gone", at=T0)).then_fails(NotFound, "no such webhook")


def test_an_unknown_webhook_is_not_found() -> None:
    webhooks.given().when(Remove(by=None, at=T0)).then_fails(NotFound, "no such webhook")
    webhooks.given().when(Disable(reason="gone", at=T0)).then_fails(NotFound, "no such webhook")


# -- the contract ---------------------------------------------------------------------------------


def test_stored_item_events_keep_their_type_names_and_json() -> None:
    stored = (b'{"type":"publishing.ItemPublished","item_id":"00000000-0000-0000-0000-000000000064",'
              b'"proposal_id":"00000000-0000-0000-0000-00000000012c","revision":1,"at":"2025-03-08T10:00:00Z"}')
    assert msgspec.json.encode(PUBLISHED) == stored
    assert msgspec.json.decode(stored, type=ItemPublished) == PUBLISHED
    assert [t.__struct_config__.tag for t in CONTRACT.types] == [
        "publishing.ItemDrafted", "publishing.AuthorAdded", "publishing.ItemRevised", "publishing.AttributionChosen",
        "publishing.PublicationRequested", "publishing.ItemPublished", "publishing.PublicationRefused",
        "publishing.ItemWithdrawn", "publishing.WebhookRegistered", "publishing.WebhookDisabled",
        "publishing.WebhookRemoved"]
    assert {t.__struct_config__.tag: t.__version__ for t in CONTRACT.types if t.__version__ != 1} == {
        "publishing.WebhookRegistered": 2,  # version 2: the partner's URL left the event
        "publishing.ItemWithdrawn": 2}  # version 2: the author's reason is personal
    assert "url" not in WebhookRegistered.__struct_fields__
    # the signing secret is in no event, not even encrypted: only its fingerprint, which cannot sign
    assert "secret" not in WebhookRegistered.__struct_fields__ and b"whsec_abc" not in msgspec.json.encode(REGISTERED)
    assert REGISTERED.secret_fingerprint == "sha256:" + hashlib.sha256(b"whsec_abc").hexdigest()[:16]


# -- the handler around the decider, on the in-memory log -----------------------------------------


class RacedStore(InMemoryEventStore):
    """A log where another writer appends ``rival`` (once armed) to the stream just before our next append."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: ItemEvent | None = None
        self.conflicts = 0

    async def append(self, **kwargs: object) -> AppendResult:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            stream_id = str(kwargs["stream_id"])
            await super().append(group_id=GROUP, stream_id=stream_id, expected_version=None,
                                 events=[NewEvent(id=uuid.uuid4(), type=event_type_name(rival), data=rival)])
        try:
            return await super().append(**kwargs)  # type: ignore[arg-type]
        except ConcurrencyConflict:
            self.conflicts += 1
            raise


async def test_a_conflicting_writer_is_retried_on_the_newer_state() -> None:
    store = RacedStore()
    stream = item_stream(ITEM)
    await store.append(group_id=GROUP, stream_id=stream, expected_version=0,
                       events=[NewEvent(id=uuid.uuid4(), type="publishing.ItemDrafted", data=DRAFTED),
                               NewEvent(id=uuid.uuid4(), type="publishing.AuthorAdded", data=BEN_ADDED)])
    store.rival = REVISED  # Ben's revision lands between our read and our append
    third = Content(title="Third take", body="")
    done = await handle(store, item_decider, Revise(by=ADA, content=third, at=T0), group_id=GROUP, stream_id=stream,
                        metadata=Metadata(actor_id=ADA), cache=StateCache())
    assert store.conflicts == 1
    assert done.events == [ItemRevised(item_id=ITEM, revision=3, content=third, by=ADA, at=T0)]
    assert done.version == 4 and done.state.revisions == (FIRST, SECOND, third)
    assert [r.type for r in await store.read_stream(stream)] == [
        "publishing.ItemDrafted", "publishing.AuthorAdded", "publishing.ItemRevised", "publishing.ItemRevised"]


async def test_a_redelivered_decision_and_a_repeated_request_record_nothing_more() -> None:
    store, cache = InMemoryEventStore(), StateCache[Item]()
    stream = item_stream(ITEM)
    for command in (DRAFT, RequestPublication(by=ADA, proposal_id=PROPOSAL, closes_at=CLOSES, at=T0)):
        await handle(store, item_decider, command, group_id=GROUP, stream_id=stream, cache=cache)
    decision = RecordDecision(proposal_id=PROPOSAL, result="passed", explanation="Agreed.", at=CLOSES)
    first = await handle(store, item_decider, decision, group_id=GROUP, stream_id=stream)
    again = await handle(store, item_decider, decision, group_id=GROUP, stream_id=stream)
    assert first.events == [PUBLISHED] and again.events == [] and again.result is None and again.version == 3

    # the same request again under its Idempotency-Key: the log answers the first result and stores nothing
    choose = ChooseAttribution(by=ADA, attribution="first_name", at=T0)
    sent = await handle(store, item_decider, choose, group_id=GROUP, stream_id=stream, idempotency_key="k1",
                        request_hash=b"h")
    repeat = await handle(store, item_decider, choose, group_id=GROUP, stream_id=stream, idempotency_key="k1",
                          request_hash=b"h")
    assert sent.events == [AttributionChosen(item_id=ITEM, member_id=ADA, attribution="first_name", at=T0)]
    assert repeat.events == [] and repeat.result is not None and repeat.result.duplicate and repeat.version == 4
    with pytest.raises(CommandRejected, match="the item is published: it cannot change now"):
        await handle(store, item_decider, Revise(by=ADA, content=SECOND, at=T0), group_id=GROUP, stream_id=stream)
    state, version = await load(store, item_decider, stream)
    assert state.status == "published" and version == 4 and state.authors == (Author(ADA, ORG_A, "first_name"),)
