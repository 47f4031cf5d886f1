"""Every PostgreSQL advisory-lock key copro takes, in one registry so no two roles can collide.

Session locks elect the single leader of a background role (``shared.runtime.leader``);
transaction locks serialise one-off work (migrations, a projection's batch).
Keys are 64-bit: the bytes of "copro" followed by a role number.
"""

from __future__ import annotations

import zlib
from enum import IntEnum


class Lock(IntEnum):
    MIGRATIONS = 0x636F70726F01
    SEALER = 0x636F70726F02
    RELAY = 0x636F70726F03
    WEBHOOK_DELIVERY = 0x636F70726F04
    TEST_TEMPLATE = 0x636F70726F05
    """The test suite's template database, built once by whichever test process gets there first."""


def projection_lock(name: str) -> int:
    """A projection's own key (one writer of its tables at a time), derived from its name."""
    return 0x636F70726F100000 + zlib.crc32(name.encode())
