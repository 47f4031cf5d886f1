"""Sign-in links: given a group's events, a link works once, before it expires, for a member still in the group."""

from __future__ import annotations

from datetime import timedelta

from services.decisions.domain.group import (
    IssueSignInLink,
    IssueToken,
    RemoveMember,
    SignIn,
    SignOutEverywhere,
    group_decider,
)
from services.decisions.events import SignedIn, SignInLinkIssued, TokenRevoked
from shared.domain.errors import NotFound, Unauthenticated
from shared.domain.specification import DeciderSpecification
from tests.unit.decisions_fixtures import T0, uid
from tests.unit.test_decisions_group import CREATE, GID, add

spec = DeciderSpecification(group_decider)
LATER = T0 + timedelta(hours=72)
LINK = IssueSignInLink(member_id=uid(1), link_id=uid(60), code_hash="c1", expires_at=LATER, at=T0)


def sign_in(at: timedelta = timedelta(hours=1), code: str = "c1", token: int = 70) -> SignIn:
    return SignIn(code_hash=code, token_id=uid(token), token_hash=f"t{token}", token_expires_at=LATER + at, at=T0 + at)


def test_a_link_is_issued_for_a_member_of_the_group() -> None:
    group = spec.given_commands(CREATE, add(1))
    group.when(LINK).then(SignInLinkIssued(group_id=GID, member_id=uid(1), link_id=uid(60), code_hash="c1",
                                           expires_at=LATER, at=T0))
    group.when(IssueSignInLink(member_id=uid(9), link_id=uid(61), code_hash="c2", expires_at=LATER, at=T0)
               ).then_fails(NotFound, "no such member")


def test_a_link_works_once_and_gives_the_member_a_token_that_expires() -> None:
    linked = spec.given_commands(CREATE, add(1), LINK)
    used = linked.when(sign_in())
    [event] = used.events
    assert event == SignedIn(group_id=GID, member_id=uid(1), link_id=uid(60), token_id=uid(70), token_hash="t70",
                             expires_at=LATER + timedelta(hours=1), at=T0 + timedelta(hours=1))
    assert used.state.tokens[uid(70)] == (uid(1), "t70")
    spec.given(*linked.history, event).when(sign_in(token=71)).then_fails(Unauthenticated, "unknown, used or expired")


def test_an_expired_unknown_or_orphaned_link_is_refused_alike() -> None:
    linked = spec.given_commands(CREATE, add(1), LINK)
    assert linked.when(sign_in(at=timedelta(hours=72))).then_fails(Unauthenticated).field == "code"  # type: ignore[attr-defined]
    linked.when(sign_in(code="nope")).then_fails(Unauthenticated, "unknown, used or expired")
    removed = spec.given_commands(CREATE, add(1), LINK, RemoveMember(member_id=uid(1), at=T0))
    removed.when(sign_in()).then_fails(Unauthenticated, "unknown, used or expired")


def test_signing_out_everywhere_revokes_every_token_of_that_member_only() -> None:
    group = spec.given_commands(CREATE, add(1), add(2), LINK, sign_in(),
                                IssueToken(member_id=uid(1), token_id=uid(80), token_hash="api", at=T0),
                                IssueToken(member_id=uid(2), token_id=uid(81), token_hash="other", at=T0))
    out = group.when(SignOutEverywhere(member_id=uid(1), at=T0))
    out.then(TokenRevoked(group_id=GID, token_id=uid(70), at=T0), TokenRevoked(group_id=GID, token_id=uid(80), at=T0))
    assert set(out.state.tokens) == {uid(81)}
