"""Builders for given/when/then tests of the decisions domain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.decisions.domain.proposal import OpenProposal, Voter
from services.decisions.domain.rules import Rule
from services.decisions.domain.tally import Question
from services.decisions.events import BallotCast, Choice, Kind, Option

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
ORG_A, ORG_B, ORG_C = (uuid.UUID(int=n) for n in (1, 2, 3))
ORGS = (ORG_A, ORG_B, ORG_C)


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=1000 + n)


def voter(n: int, org: uuid.UUID = ORG_A, lived: bool = False, facilitator: bool = False) -> Voter:
    return Voter(member_id=uid(n), organisation_id=org, lived_experience=lived, facilitator=facilitator)


def options(*labels: str) -> tuple[Option, ...]:
    return tuple(Option(id=label.lower(), label=label) for label in labels)


def slots(count: int) -> tuple[Option, ...]:
    return tuple(
        Option(id=f"s{i}", label=f"slot {i}", starts_at=T0 + timedelta(days=i), ends_at=T0 + timedelta(days=i, hours=1))
        for i in range(count)
    )


def question(kind: Kind, opts: tuple[Option, ...] = (), rule: Rule | None = None, max_choices: int = 1) -> Question:
    return Question(kind=kind, options=opts, rule=rule or Rule(), organisations=ORGS, max_choices=max_choices)


def ballot(n: int, choice: Choice, org: uuid.UUID = ORG_A, lived: bool = False, reason: str | None = None) -> BallotCast:
    return BallotCast(event_id=uuid.UUID(int=5000 + n), proposal_id=uuid.UUID(int=9), member_id=uid(n),
                      organisation_id=org, lived_experience=lived, choice=choice, reason=reason, at=T0)


def open_command(kind: Kind = "consent", opts: tuple[Option, ...] = (), rule: Rule | None = None,
                 amend_policy: str = "keep_valid", **extra: object) -> OpenProposal:
    values: dict[str, object] = {
        "proposal_id": uuid.UUID(int=9), "group_id": uuid.UUID(int=8), "author": voter(0), "kind": kind,
        "title": "Hold the event in March", "body": "", "options": opts, "opens_at": T0,
        "closes_at": T0 + timedelta(days=7), "rule": rule or Rule(), "organisations": ORGS,
        "visibility": "open", "amend_policy": amend_policy, "max_choices": 1, "max_score": 5, "dots": 10,
        "at": T0,
    }
    values.update(extra)
    return OpenProposal(**values)  # type: ignore[arg-type]
