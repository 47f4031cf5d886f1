"""The cyclic garbage collector out of an audit's way.

An export, a verification or a replay makes millions of short-lived objects
(rows, decoded events, hashes) and almost no reference cycles; at Python's
default threshold the collector runs every 700 allocations and, measured on
a replay of 100,000 events, took more time than the replay's own work. The
collector still runs, only less often, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

THRESHOLD = 50_000


@contextlib.contextmanager
def fewer_collections(threshold: int = THRESHOLD) -> Iterator[None]:
    """Raise the youngest generation's threshold for the block (never lower it), then restore it."""
    before = gc.get_threshold()
    gc.set_threshold(max(threshold, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
