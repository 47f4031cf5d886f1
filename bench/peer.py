"""The Python peer of bench/append.py: ``eventsourcing``'s PostgreSQL application recorder.

Its default (gap-safe) mode: each insert takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` so that
notification ids commit in order, which serialises writers. It runs on the same server and
database as copro, on its own table, with psycopg 3 (synchronous): concurrent writers are
threads with a connection each, as its documentation uses it. Install with ``pip install -e .[bench]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit

import msgspec
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore


class Peer:
    def __init__(self, url: str, writers: int = 8) -> None:
        parts = urlsplit(url)
        self.datastore = PostgresDatastore(
            dbname=parts.path.lstrip("/"), host=parts.hostname or "127.0.0.1", port=parts.port or 5432,
            user=unquote(parts.username or ""), password=unquote(parts.password or ""),
            pool_size=writers, originator_id_type="text",
        )
        self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name="peer_events")
        self.recorder.create_table()
        self.pool = ThreadPoolExecutor(writers)

    def append(self, stream: str, first_version: int, payloads: list[bytes], topic: str) -> None:
        self.recorder.insert_events([
            StoredEvent(originator_id=stream, originator_version=first_version + i, topic=topic, state=p)
            for i, p in enumerate(payloads)
        ])

    def writers(self, count: int, per_writer: int, append_one: Callable[[int, int], None]) -> float:
        """Events per second of ``count`` threads each appending ``per_writer`` times."""
        def writer(w: int) -> None:
            for i in range(per_writer):
                append_one(w, i)

        started = time.perf_counter()
        for future in [self.pool.submit(writer, w) for w in range(count)]:
            future.result()
        return count * per_writer / (time.perf_counter() - started)

    def read(self, decode: Callable[[bytes], object]) -> float:
        """Every notification in order, in pages of 1,000, each payload decoded: events per second."""
        started = time.perf_counter()
        position, read = 0, 0
        while page := self.recorder.select_notifications(position, 1000, inclusive_of_start=False):
            for notification in page:
                decode(notification.state)
            read += len(page)
            position = page[-1].id
        return read / (time.perf_counter() - started)

    def close(self) -> None:
        self.pool.shutdown()
        self.datastore.close()


def payload(data: msgspec.Struct) -> bytes:
    return msgspec.json.encode(data)
