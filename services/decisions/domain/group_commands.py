"""What may be asked of a working group's constitution: the group decider's commands (``group.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.decisions.domain.rules import Rule
from services.decisions.events import Organisation
from shared.domain.roles import Role
from shared.domain.zones import DEFAULT_TIME_ZONE


@dataclass(frozen=True)
class CreateGroup:
    group_id: uuid.UUID
    name: str
    organisations: tuple[Organisation, ...]
    rule: Rule
    at: datetime
    time_zone: str = DEFAULT_TIME_ZONE


@dataclass(frozen=True)
class ChangeTimeZone:
    time_zone: str
    at: datetime


@dataclass(frozen=True)
class AddMember:
    member_id: uuid.UUID
    name: str
    organisation_id: uuid.UUID
    lived_experience: bool
    roles: tuple[Role, ...]
    at: datetime


@dataclass(frozen=True)
class UpdateMember:
    member_id: uuid.UUID
    at: datetime
    name: str | None = None
    organisation_id: uuid.UUID | None = None
    lived_experience: bool | None = None
    roles: tuple[Role, ...] | None = None


@dataclass(frozen=True)
class RemoveMember:
    member_id: uuid.UUID
    at: datetime


@dataclass(frozen=True)
class ForgetMember:
    member_id: uuid.UUID
    by: uuid.UUID | None
    consent: str
    at: datetime


@dataclass(frozen=True)
class IssueToken:
    member_id: uuid.UUID
    token_id: uuid.UUID
    token_hash: str
    at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True)
class RevokeToken:
    token_id: uuid.UUID
    at: datetime


@dataclass(frozen=True)
class IssueSignInLink:
    member_id: uuid.UUID
    link_id: uuid.UUID
    code_hash: str
    expires_at: datetime
    at: datetime


@dataclass(frozen=True)
class SignIn:
    """Use a sign-in link (known by its code's hash) once, before it expires, for a token that expires too."""

    code_hash: str
    token_id: uuid.UUID
    token_hash: str
    token_expires_at: datetime
    at: datetime


@dataclass(frozen=True)
class SignOutEverywhere:
    member_id: uuid.UUID
    at: datetime


@dataclass(frozen=True)
class RegisterKey:
    organisation_id: uuid.UUID
    public_key: str
    at: datetime


@dataclass(frozen=True)
class AdoptRule:
    rule: Rule
    at: datetime


GroupCommand = (
    CreateGroup | AddMember | UpdateMember | RemoveMember | ForgetMember | IssueToken | RevokeToken | AdoptRule
    | RegisterKey | IssueSignInLink | SignIn | SignOutEverywhere | ChangeTimeZone
)
