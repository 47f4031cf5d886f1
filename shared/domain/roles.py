"""The roles a member can hold in a group: domain vocabulary, recorded in events, checked by the access layer."""

from __future__ import annotations

from typing import Literal

Role = Literal["facilitator", "member", "observer", "auditor"]
