"""Small event types the kernel tests append (the kernel itself knows none)."""

from __future__ import annotations

import uuid

import msgspec

from shared.envelope import NewEvent
from shared.ids import new_id


class Noted(msgspec.Struct, tag="test.Noted"):
    n: int


class PersonJoined(msgspec.Struct, tag="test.PersonJoined"):
    __personal__ = ("name", "email")
    __subject__ = "person_id"

    person_id: uuid.UUID
    name: str | None
    email: str | None = None
    organisation: str = ""


def noted(n: int) -> NewEvent:
    return NewEvent(id=new_id(), type="test.Noted", data=Noted(n=n))
