"""Verify the log: from an export alone, offline, or live.

Verification recomputes each event's content hash, each stream's chain and
the global chain, checks every checkpoint and signature, and names the first
bad position and what is wrong there: ``altered``, ``missing``, ``inserted``
or ``reordered``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Literal

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.audit.collecting import fewer_collections
from shared.audit.export import ExportedCheckpoint, ExportedSignature, ExportHeader, export_lines, utc_text
from shared.audit.signing import export_message, fingerprint, signs, valid
from shared.eventlog import integrity
from shared.eventlog.store import EventStore

Problem = Literal["altered", "missing", "inserted", "reordered", "untrusted", "unsigned"]
"""``untrusted``: a signature by a key the verifier did not pin; ``unsigned``: a checkpoint no pinned key signed."""


class Trust:
    """The signing keys a verifier pins: copro's and the partners' public keys, each under a signer's name.

    A trust file has one key a line, ``<signer> <base64 of the raw Ed25519 public key>``, as
    ``copro audit keys`` prints them; ``#`` starts a comment. With pinned keys an export verifies
    only if every checkpoint carries a valid signature by one of them and no other key signed.
    """

    def __init__(self, keys: dict[str, set[bytes]]) -> None:
        self.keys = keys
        self.names = {key: signer for signer, found in keys.items() for key in found}

    @classmethod
    def parse(cls, text: str) -> Trust:
        keys: dict[str, set[bytes]] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                signer, encoded = line.split()
                key = base64.b64decode(encoded, validate=True)
            except (ValueError, binascii.Error) as exc:
                raise ValueError(f"line {number} is not '<signer> <base64 public key>'") from exc
            if len(key) != 32:
                raise ValueError(f"line {number}: an Ed25519 public key has 32 bytes, this one {len(key)}")
            keys.setdefault(signer, set()).add(key)
        if not keys:
            raise ValueError("the trust file pins no key")
        return cls(keys)


class EventLine(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An exported event as the verifier reads it: ids kept as text, exactly as they were hashed
    (text and numbers only, never a cycle: the garbage collector need not track it)."""

    id: str
    type: str
    time: str
    data: msgspec.Raw
    groupid: str
    streamid: str
    streamversion: int
    position: int
    actorid: str | None
    actororg: str | None
    causationid: str | None
    correlationid: str | None
    contenthash: str
    chainhash: str
    globalhash: str


_NEW_STREAM = (0, integrity.GENESIS)
_EVENT_LINE = b'{"specversion"'
_encode = msgspec.json.Encoder().encode


class _Line(msgspec.Struct, kw_only=True):
    """Whatever a line is: the verifier reads the kind from its keys."""

    format: str | None = None
    group_id: uuid.UUID | None = None
    id: uuid.UUID | None = None
    checkpoint: int | None = None
    signature: int | None = None


@dataclass
class Finding:
    position: int
    problem: Problem
    detail: str


@dataclass
class Report:
    events: int = 0
    streams: int = 0
    checkpoints: int = 0
    global_chain_checked: bool = True
    signatures: dict[str, int] = field(default_factory=dict)
    signed_by: dict[tuple[str, str], int] = field(default_factory=dict)
    """Valid checkpoint signatures per (signer, key fingerprint)."""
    findings: list[Finding] = field(default_factory=list)
    unusable: str | None = None
    """Why the input is no export at all (exit 2), as opposed to an export that was tampered with (exit 1)."""
    last_position: int = 0
    """The last event's position (whole-log exports)."""
    sealed_by: tuple[str, str] | None = None
    """Who sealed the export's header (signer, key fingerprint), when the seal verifies and matches the events."""
    signed_through: int = 0
    """The last position a valid signature covers, a checkpoint's or the header's seal (by a pinned key, when keys
    are pinned)."""

    @property
    def ok(self) -> bool:
        return not self.findings and self.unusable is None

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.position) if self.findings else None


class Verifier:
    """Checks events in the order given; feed it an export or the live log."""

    def __init__(self, partial: bool = False, trust: Trust | None = None, header: ExportHeader | None = None) -> None:
        self.report = Report(global_chain_checked=not partial)
        self.partial = partial
        self.header = header
        self.trust = trust
        self._trusted: set[int] = set()  # checkpoints that carry a valid signature by a pinned key
        self._expected = 1
        self._global = integrity.GENESIS
        self._last: tuple[int, bytes] = (0, integrity.GENESIS)
        self._checkpoints: dict[int, bytes] = {}
        self._streams: dict[str, tuple[int, bytes]] = {}
        self._seen: set[str] = set()
        self._missing: dict[int, Finding] = {}
        self._gaps = 0  # positions reported missing whose events no stream has accounted for yet

    def _find(self, position: int, problem: Problem, detail: str) -> None:
        self.report.findings.append(Finding(position, problem, detail))

    def event(self, e: EventLine) -> None:
        """Check one event: the common case (the next position, the next version of its stream, every
        hash as stated) in as few steps as Python allows, anything else in detail."""
        if not self.partial and e.position == self._expected and e.id not in self._seen:
            version, previous = self._streams.get(e.streamid, _NEW_STREAM)
            if e.streamversion == version + 1:
                # integrity.canonical_hash and integrity.chain written out: a third of the time they took
                # here was their calls (tests/unit/test_audit_fast_paths.py holds the two paths equal)
                content = sha256(_encode([e.id, e.groupid, e.streamid, e.type, e.actorid, e.actororg,
                                          e.causationid, e.correlationid, e.time, e.data])).digest()
                link = sha256(previous + content).digest()
                chained = sha256(self._global + link).digest()
                if content.hex() == e.contenthash and link.hex() == e.chainhash and chained.hex() == e.globalhash:
                    self.report.events += 1
                    self._seen.add(e.id)
                    self._streams[e.streamid] = (e.streamversion, link)
                    self._expected = e.position + 1
                    self._global = chained
                    self._last = (e.position, chained)
                    return
        self._event_in_detail(e)

    def _event_in_detail(self, e: EventLine) -> None:
        """Check one event, naming what is wrong. After a finding the verifier takes the event's stated chains
        as given, so one change to the log is one finding, not a cascade over everything after it."""
        self.report.events += 1
        if e.id in self._seen:
            self._find(self._expected, "inserted", f"event {e.id} appears a second time (as position {e.position})")
            return
        self._seen.add(e.id)
        found = False
        in_order = True
        if not self.partial:
            if e.position in self._missing:  # a position reported missing turns up late: the order was changed
                finding = self._missing.pop(e.position)
                finding.problem, finding.detail = "reordered", f"position {e.position} comes after later positions"
                self._gaps = max(0, self._gaps - 1)
                found, in_order = True, False
            elif e.position > self._expected:
                for gap in range(self._expected, e.position):
                    self._missing[gap] = Finding(gap, "missing", f"position {gap} is not in the log")
                    self.report.findings.append(self._missing[gap])
                self._gaps += e.position - self._expected
                found = True  # the global chain cannot hold across the gap: already said
            elif e.position < self._expected:
                self._find(self._expected, "inserted", f"a second event claims position {e.position}")
                return
            self._expected = max(self._expected, e.position + 1)
        content = integrity.canonical_hash(
            e.id, e.groupid, e.streamid, e.type, (e.actorid, e.actororg, e.causationid, e.correlationid), e.time,
            bytes(e.data),
        )
        if content.hex() != e.contenthash and not found:
            self._find(e.position, "altered", f"event {e.id}'s fields do not match its content hash")
            found = True
        version, previous = self._streams.get(e.streamid, (0, integrity.GENESIS))
        jump = e.streamversion - (version + 1)
        if jump and not (self.partial and version == 0):
            if 0 < jump <= self._gaps:  # the stream's missing events are the positions already reported missing
                self._gaps -= jump
            elif not found:
                problem: Problem = "missing" if jump > 0 else "reordered"
                self._find(e.position, problem, f"stream {e.streamid} jumps from version {version} to {e.streamversion}")
            found = True
        elif (integrity.chain(previous, content).hex() != e.chainhash and not (self.partial and version == 0)
              and not found):
            self._find(e.position, "inserted", f"event {e.id} does not chain onto stream {e.streamid}")
            found = True
        if e.streamversion > version:  # a late event does not move its stream back
            self._streams[e.streamid] = (e.streamversion, bytes.fromhex(e.chainhash))
        if not self.partial and in_order:
            chained = integrity.chain(self._global, bytes.fromhex(e.chainhash))
            if chained.hex() != e.globalhash and not found:
                self._find(e.position, "reordered", "the global chain breaks here: events were moved or replaced")
            self._global = bytes.fromhex(e.globalhash)
            self._last = (e.position, self._global)

    def signature(self, s: ExportedSignature, verdict: bool | None = None) -> None:
        """Count and check one signature; ``verdict`` is whether it verifies when a worker process checked it
        already over the same checkpoint (an Ed25519 check costs more than everything else done here)."""
        self.report.signatures[s.signer] = self.report.signatures.get(s.signer, 0) + 1
        checkpoint = self._checkpoints.get(s.signature)
        key = base64.b64decode(s.public_key)
        if verdict is None:
            verdict = checkpoint is not None and valid(key, base64.b64decode(s.value), s.signature, checkpoint)
        if not verdict:
            self._find(s.signature, "altered", f"{s.signer}'s signature over checkpoint {s.signature} does not verify")
            return
        named = self.trust.names.get(key, s.signer) if self.trust is not None else s.signer
        signer = (named, fingerprint(key))
        self.report.signed_by[signer] = self.report.signed_by.get(signer, 0) + 1
        if self.trust is None:
            self.report.signed_through = max(self.report.signed_through, s.signature)
            return
        if key in self.trust.names:
            self._trusted.add(s.signature)
            self.report.signed_through = max(self.report.signed_through, s.signature)
        else:
            self._find(s.signature, "untrusted",
                       f"checkpoint {s.signature} is signed by a key no one pinned ({s.signer}, {fingerprint(key)})")

    def checkpoint(self, c: ExportedCheckpoint) -> None:
        self.report.checkpoints += 1
        if self.partial:
            return
        position, known = self._last  # a checkpoint follows the event it seals
        self._checkpoints[c.checkpoint] = bytes.fromhex(c.global_hash)
        if position != c.checkpoint or known.hex() != c.global_hash:
            self._find(c.checkpoint, "altered", f"checkpoint at position {c.checkpoint} does not match the chain")

    def _check_seal(self) -> None:
        """The header's seal over the export's end (``ExportHeader``): covers every event up to ``head`` when it
        verifies, its key is pinned (when keys are), and the events read end there, on that chain."""
        h = self.header
        if h is None or h.seal is None or h.public_key is None or h.head_hash is None:
            return
        key = base64.b64decode(h.public_key)
        if not signs(key, base64.b64decode(h.seal), export_message(h.head, bytes.fromhex(h.head_hash),
                                                                  utc_text(h.exported_at))):
            self._find(h.head, "altered", "the export's header seal does not verify: its head, time or chain was changed")
            return
        if self.trust is not None and key not in self.trust.names:
            self._find(h.head, "untrusted", f"the export is sealed by a key no one pinned ({h.signer}, {fingerprint(key)})")
            return
        if self._expected - 1 == h.head and self._global.hex() == h.head_hash:
            named = self.trust.names.get(key, h.signer or "") if self.trust is not None else h.signer or ""
            self.report.sealed_by = (named, fingerprint(key))
            self.report.signed_through = max(self.report.signed_through, h.head)

    def finish(self, head: int | None = None) -> Report:
        if head is not None and not self.partial and self._expected <= head:  # one cut, one finding
            gap = f"position {head} is" if self._expected == head else f"positions {self._expected} to {head} are"
            self._find(self._expected, "missing", f"{gap} not in the export (its header says the log's head is {head})")
        if self.trust is not None:
            for position in sorted(set(self._checkpoints) - self._trusted):
                self._find(position, "unsigned", f"no pinned key signed checkpoint {position}")
        if not self.partial:
            self.report.last_position = self._expected - 1
            self._check_seal()
            covered = self.report.signed_through
            cut = any(f.problem == "missing" for f in self.report.findings)  # said already, where it starts
            if self.trust is not None and self.report.events and covered < self.report.last_position and not cut:
                # copro audit export seals its header: a tail no seal or checkpoint covers was cut or extended
                # after the export, and only hashes anyone can recompute cover it
                self._find(covered + 1, "unsigned", f"positions {covered + 1} to {self.report.last_position} are"
                           " covered by no signature (copro audit export seals the export's end in its header)")
        self.report.streams = len(self._streams)
        return self.report


class LineVerifier:
    """Feeds export lines, one at a time, to a Verifier made from the header."""

    def __init__(self, trust: Trust | None = None) -> None:
        self.trust = trust
        self._line = msgspec.json.Decoder(_Line).decode
        self._event = msgspec.json.Decoder(EventLine).decode
        self._checkpoint = msgspec.json.Decoder(ExportedCheckpoint).decode
        self._signature = msgspec.json.Decoder(ExportedSignature).decode
        self.verifier: Verifier | None = None
        self.head: int | None = None
        self.number = 0
        self.broken: Finding | None = None

    def feed(self, line: bytes) -> None:
        self.number += 1
        if self.broken is not None or not line.strip():
            return
        try:
            if self.verifier is not None and line.startswith(_EVENT_LINE):  # the common case, decoded once
                self.verifier.event(self._event(line))
                return
            kind = self._line(line)
            if kind.format is not None:
                header = msgspec.json.decode(line, type=ExportHeader)
                self.verifier = Verifier(partial=header.group_id is not None, trust=self.trust, header=header)
                self.head = header.head
            elif self.verifier is None:
                raise ValueError("the first line is no copro export header")
            elif kind.checkpoint is not None:
                self.verifier.checkpoint(self._checkpoint(line))
            elif kind.signature is not None:
                self.verifier.signature(self._signature(line))
            else:
                self.verifier.event(self._event(line))
        except (msgspec.DecodeError, ValueError) as exc:
            self._unreadable(exc)

    def feed_all(self, lines: Iterable[bytes]) -> None:
        """Feed every line: an event line (nearly all of them) goes straight to the verifier."""
        decode = self._event
        for line in lines:
            verifier = self.verifier
            if verifier is not None and self.broken is None and line.startswith(_EVENT_LINE):
                self.number += 1
                try:
                    verifier.event(decode(line))
                except (msgspec.DecodeError, ValueError) as exc:
                    self._unreadable(exc)
            else:
                self.feed(line)

    def _unreadable(self, exc: Exception) -> None:
        position = self.verifier._expected if self.verifier else 0
        self.broken = Finding(position, "altered", f"line {self.number} cannot be read: {exc}")

    def finish(self) -> Report:
        if self.verifier is None:
            return Report(unusable=self.broken.detail if self.broken else "the file is empty: no copro export")
        report = self.verifier.finish(self.head if self.broken is None else None)
        if self.broken is not None:
            report.findings.append(self.broken)
        return report


def verify_lines(lines: Iterable[bytes], trust: Trust | None = None) -> Report:
    """Verify an export, line by line (constant memory but for one hash per stream)."""
    checker = LineVerifier(trust)
    with fewer_collections():
        checker.feed_all(lines)
    return checker.finish()


async def verify_live(store: EventStore, page: int = 5000, trust: Trust | None = None,
                      head_key: Ed25519PrivateKey | None = None) -> Report:
    """Verify the log as stored, with the same checks as an export (its header sealed with ``head_key``, as
    ``copro audit export`` seals it), page by page."""
    checker = LineVerifier(trust)
    with fewer_collections():
        async for chunk in export_lines(store, None, page, head_key=head_key):
            checker.feed_all(chunk.splitlines())
    return checker.finish()
