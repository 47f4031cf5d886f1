"""Verify an export on every core, with the same report as one process.

One process verifies about 300,000 events a second: decoding a line, rebuilding
the text its content hash covers and three SHA-256 cost over 3 µs, most of it
work that does not depend on any other line. So the export is cut into chunks
(by byte offset, each starting just after an event line) that worker processes
check at once, each from the state the line before its chunk states (its
position and global hash): content hashes, the global chain, positions,
stream links whose predecessor is in the chunk, and the signatures over
checkpoints in the chunk. What crosses chunks the parent stitches in order:
each stream's first link in a chunk onto its last link in the chunks before,
event ids seen twice, and the checkpoints and signatures in line order.

Workers only confirm the common case, a log as recorded. A chunk that leaves it
anywhere (a finding, a line that cannot be read, a second header), or a stitch
that fails, sends the whole export through the one-process verifier, so every
report (its findings and their order, the counts, the exit code) is that
verifier's by construction; a tampered export costs a second pass, a clean one
does not.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
from array import array
from dataclasses import dataclass
from hashlib import sha256
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import BinaryIO

import msgspec

from shared.audit.collecting import fewer_collections
from shared.audit.export import ExportedCheckpoint, ExportedSignature
from shared.audit.signing import valid
from shared.audit.verify import (
    _EVENT_LINE,
    _NEW_STREAM,
    EventLine,
    LineVerifier,
    Report,
    Trust,
    Verifier,
    _encode,
    _Line,
    verify_lines,
)
from shared.eventlog import integrity

CHUNK = 16 << 20
"""Bytes a worker takes at a time: enough to make a task's overhead vanish, few enough to keep memory flat."""
BLOCK = 64 << 10
"""Bytes a worker reads at a time: its lines are still in the processor's cache when it decodes them (reading
a whole chunk at once cost a fifth more time)."""

Note = tuple[ExportedCheckpoint, tuple[int, bytes]] | tuple[ExportedSignature, bool | None]
"""A checkpoint with the last event before it, or a signature with its verdict (None: its checkpoint
lies in an earlier chunk, the parent checks it)."""


class _Unclean(Exception):
    """The chunk leaves the common case: the parent verifies the export in one process."""


@dataclass
class _Chunk:
    """What a worker found in a chunk whose every event is as recorded, for the parent to stitch."""

    events: int
    expected: int
    opened: dict[str, tuple[int, bytes, bytes]]
    """Per stream first seen in the chunk: its version, content hash and stated chain hash there."""
    streams: dict[str, tuple[int, bytes]]
    """Per stream: its last version and chain hash in the chunk."""
    ids: array[int]
    """Each event's id key (see ``_Scan.lines``), 8 bytes each: cheap to send and to stitch."""
    notes: list[Note]
    chained: bytes
    """The global chain hash at the chunk's last event: where the whole stands once the chunk is stitched."""


class _Scan:
    """A worker's pass over its chunk: the common case of ``Verifier.event``, from the state after the line
    before the chunk, in one loop with its state in local names (a method call and attribute lookups per
    event were a fifth of the time); anything else raises ``_Unclean``. A stream's first event in the chunk is
    taken at its stated chain hash, which the parent checks against the stream's last link before."""

    def __init__(self, previous: bytes | None, forked: bool) -> None:
        self.forked = forked
        self.expected, self.chained = 1, integrity.GENESIS
        if previous is not None:
            before = msgspec.json.decode(previous, type=EventLine)
            self.expected, self.chained = before.position + 1, bytes.fromhex(before.globalhash)
        self.streams: dict[str, tuple[int, bytes]] = {}
        self.opened: dict[str, tuple[int, bytes, bytes]] = {}
        self.ids: set[int] = set()
        self.checkpoints: dict[int, bytes] = {}
        self.notes: list[Note] = []
        self._line = msgspec.json.Decoder(_Line).decode
        self._checkpoint = msgspec.json.Decoder(ExportedCheckpoint).decode
        self._signature = msgspec.json.Decoder(ExportedSignature).decode

    def lines(self, lines: list[bytes]) -> None:
        decode = msgspec.json.Decoder(EventLine).decode
        streams, opened, ids, seen = self.streams, self.opened, self.ids, self.ids.add
        # an id's key: equal ids, equal keys; distinct ids' keys almost never equal (when they are, the
        # one-process verifier, which compares the ids themselves, has the last word). ``hash`` of the text is
        # the same in every process forked from one parent, not in spawned ones: there, the UUID's number's
        key_of = hash if self.forked else _number_key
        expected, chained = self.expected, self.chained
        for line in lines:
            if not line.startswith(_EVENT_LINE):
                self.expected, self.chained = expected, chained
                self.other(line)
                continue
            e = decode(line)
            key = key_of(e.id)
            if e.position != expected or key in ids:
                raise _Unclean
            content = sha256(_encode([e.id, e.groupid, e.streamid, e.type, e.actorid, e.actororg,
                                      e.causationid, e.correlationid, e.time, e.data])).digest()
            stream = streams.get(e.streamid)
            if stream is None:
                link = bytes.fromhex(e.chainhash)
                opened[e.streamid] = (e.streamversion, content, link)
            elif e.streamversion == stream[0] + 1:
                link = sha256(stream[1] + content).digest()
            else:
                raise _Unclean
            chained = sha256(chained + link).digest()
            if (content + link + chained).hex() != e.contenthash + e.chainhash + e.globalhash:
                raise _Unclean
            seen(key)
            streams[e.streamid] = (e.streamversion, link)
            expected += 1
        self.expected, self.chained = expected, chained

    def other(self, line: bytes) -> None:
        """A line that is no event as copro writes them: blank, a checkpoint or a signature, else unclean."""
        if not line.strip():
            return
        kind = self._line(line)
        if kind.checkpoint is not None and kind.format is None:
            c = self._checkpoint(line)
            self.checkpoints[c.checkpoint] = bytes.fromhex(c.global_hash)
            self.notes.append((c, (self.expected - 1, self.chained)))  # the event before: what it must match
        elif kind.signature is not None and kind.format is None and kind.checkpoint is None:
            s = self._signature(line)
            checkpoint = self.checkpoints.get(s.signature)  # the latest at that position, as the parent's will be
            verdict = None if checkpoint is None else valid(
                base64.b64decode(s.public_key), base64.b64decode(s.value), s.signature, checkpoint)
            self.notes.append((s, verdict))
        else:  # a header, an event written otherwise: not what copro exports
            raise _Unclean

    def chunk(self) -> _Chunk:
        return _Chunk(len(self.ids), self.expected, self.opened, self.streams, array("q", self.ids), self.notes,
                      self.chained)


def _number_key(text: str) -> int:
    """An id's key in any process: the hash of its UUID's number (an id that is no UUID text raises)."""
    return hash(int(text.replace("-", ""), 16))


_stop: Event | None = None
"""Set by the parent once the export is known not to be the common case: a worker's remaining chunks are moot."""


def _stop_on(stop: Event) -> None:
    global _stop
    _stop = stop


def _verify_chunk(task: tuple[Path, int, int, bytes | None, bool]) -> _Chunk | None:
    """A worker: the chunk's common case, or None. Any exception means None: the one-process verifier then
    meets the same line and reports it (or fails) as it always has."""
    path, start, end, previous, forked = task
    if _stop is not None and _stop.is_set():
        return None
    try:
        with fewer_collections(), path.open("rb") as handle:
            scan = _Scan(previous, forked)
            handle.seek(start)
            left, rest = end - start, b""
            while left > 0 and (block := handle.read(min(BLOCK, left))):
                left -= len(block)
                lines = (rest + block).split(b"\n")
                rest = lines.pop()  # the part of a line the next block ends (the chunk ends at a line's end)
                scan.lines(lines)
            scan.lines([rest])
            return scan.chunk()
    except Exception:
        return None


def _stitch(verifier: Verifier, ids: set[int], chunk: _Chunk) -> bool:
    """Add a chunk to the whole, in order; False if the whole is no longer the common case."""
    for stream, (version, content, link) in chunk.opened.items():
        known, previous = verifier._streams.get(stream, _NEW_STREAM)
        if version != known + 1 or sha256(previous + content).digest() != link:
            return False
    before = len(ids)
    ids.update(chunk.ids)
    if len(ids) != before + len(chunk.ids):
        return False
    verifier._streams.update(chunk.streams)
    verifier.report.events += chunk.events
    for thing, detail in chunk.notes:
        if isinstance(thing, ExportedCheckpoint):
            verifier._last = detail  # type: ignore[assignment]  # a checkpoint's note is (position, hash)
            verifier.checkpoint(thing)
        else:
            verifier.signature(thing, detail)  # type: ignore[arg-type]  # a signature's note is its verdict
    verifier._expected = chunk.expected
    verifier._global = chunk.chained
    return True


def _split(handle: BinaryIO, start: int, size: int, step: int) -> list[tuple[int, bytes | None]]:
    """Chunk starts about ``step`` bytes apart, each just after an event line, with that line."""
    starts: list[tuple[int, bytes | None]] = [(start, None)]
    target = start + step
    while target < size:
        handle.seek(target - 1)
        handle.readline()  # to the start of the next line
        while (line := handle.readline()) and not (line.startswith(_EVENT_LINE) and line.endswith(b"\n")):
            pass
        boundary = handle.tell()
        if not line or boundary >= size:
            break
        starts.append((boundary, line))
        target = boundary + step
    return starts


def _in_parallel(path: Path, trust: Trust | None, jobs: int, chunk: int) -> Report | None:
    """The common case verified by ``jobs`` processes, or None when the export is not the common case."""
    size = path.stat().st_size
    checker = LineVerifier(trust)
    with path.open("rb") as handle:
        header = handle.readline()
        if header.startswith(_EVENT_LINE):
            return None
        checker.feed(header)
        if checker.verifier is None or checker.verifier.partial or checker.broken is not None:
            return None  # no header on the first line, or a one-group export: nothing global to split
        rest = size - len(header)
        pieces = jobs * max(1, -(-rest // (jobs * chunk)))  # a multiple of the workers: they all finish about together
        step = max(1, -(-rest // pieces))
        starts = _split(handle, len(header), size, step)
    if len(starts) < 2:
        return None
    ends = [start for start, _ in starts[1:]] + [size]
    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else None)
    tasks = [(path, start, end, previous, forked) for (start, previous), end in zip(starts, ends, strict=True)]
    verifier, ids, clean = checker.verifier, set[int](), True
    stop = context.Event()
    # closed and joined, never terminated while tasks are pending: terminating a pool mid-run can deadlock
    # (its task feeder waits on a lock a killed worker held); a failed stitch instead tells the workers to stop
    pool = context.Pool(min(jobs, len(tasks)), initializer=_stop_on, initargs=(stop,))
    try:
        with fewer_collections():
            for found in pool.imap(_verify_chunk, tasks):
                try:
                    clean = clean and found is not None and _stitch(verifier, ids, found)
                except ValueError:  # a signature the parent checks cannot be read: the one process says where
                    clean = False
                if not clean:
                    stop.set()  # the chunks still queued return at once
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return checker.finish() if clean else None


def default_jobs() -> int:
    return os.cpu_count() or 1


def verify_file(path: str | os.PathLike[str], trust: Trust | None = None, jobs: int | None = None,
                chunk: int = CHUNK) -> Report:
    """Verify an export file with ``jobs`` processes (default: one per core; 1: this process alone).
    The report is always the one-process verifier's: see the module's docstring."""
    path = Path(path)
    if (jobs or default_jobs()) > 1:
        report = _in_parallel(path, trust, jobs or default_jobs(), chunk)
        if report is not None:
            return report
    with path.open("rb") as handle:
        return verify_lines(handle, trust)
