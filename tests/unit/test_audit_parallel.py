"""Verify on every core: the report is the one-process verifier's, on a clean export and on every tampering,
with the export cut in 2, 3 or a chunk after every event line; and a clean export really is split."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.audit import verify_parallel
from shared.audit.export import ExportedSignature
from shared.audit.signing import b64, message, public_bytes
from shared.audit.verify import Report, Trust, verify_lines
from shared.audit.verify_parallel import verify_file
from shared.eventlog import integrity
from tests.unit.test_audit_fast_paths import edited, export, tamperings

COPRO = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PARTNER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
STRANGER = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))
TRUST = Trust({"copro": {public_bytes(COPRO)}, "coop": {public_bytes(PARTNER)}})


def signature_line(key: Ed25519PrivateKey, signer: str, position: int, global_hash: str) -> bytes:
    value = key.sign(message(position, bytes.fromhex(global_hash)))
    return msgspec.json.encode(ExportedSignature(signature=position, signer=signer, public_key=b64(public_bytes(key)),
                                                 value=b64(value)))


def signed_export() -> list[bytes]:
    """60 events, a checkpoint every 10 signed by copro, every other one countersigned by the partner."""
    lines = []
    for line in export(events=60, streams=4):
        lines.append(line)
        fields = msgspec.json.decode(line)
        if "checkpoint" in fields:
            lines.append(signature_line(COPRO, "copro", fields["checkpoint"], fields["global_hash"]))
            if fields["checkpoint"] % 20 == 0:
                lines.append(signature_line(PARTNER, "coop", fields["checkpoint"], fields["global_hash"]))
    return lines


def index(lines: list[bytes], key: str, value: int) -> int:
    return next(n for n, line in enumerate(lines) if msgspec.json.decode(line).get(key) == value)


def reforged(lines: list[bytes]) -> list[bytes]:
    """The lines with every hash, checkpoint and signature made anew, as a forger holding the keys would:
    what is left to find is what no hash shows (a reused id, a skipped position or version)."""
    keys = {b64(public_bytes(key)): key for key in (COPRO, PARTNER, STRANGER)}
    streams: dict[str, bytes] = {}
    chained, checkpoints, out = integrity.GENESIS, {}, []
    for line in lines:
        fields = msgspec.json.decode(line)
        if "specversion" in fields:
            content = integrity.canonical_hash(
                fields["id"], fields["groupid"], fields["streamid"], fields["type"],
                (fields["actorid"], fields["actororg"], fields["causationid"], fields["correlationid"]),
                fields["time"], msgspec.json.encode(fields["data"]))
            link = integrity.chain(streams.get(fields["streamid"], integrity.GENESIS), content)
            streams[fields["streamid"]], chained = link, integrity.chain(chained, link)
            fields.update(contenthash=content.hex(), chainhash=link.hex(), globalhash=chained.hex())
        elif "checkpoint" in fields:
            fields["global_hash"] = checkpoints[fields["checkpoint"]] = chained.hex()
        elif "signature" in fields:
            value = keys[fields["public_key"]].sign(message(fields["signature"],
                                                            bytes.fromhex(checkpoints[fields["signature"]])))
            fields["value"] = b64(value)
        out.append(msgspec.json.encode(fields))
    return out


def signed_tamperings(lines: list[bytes]) -> dict[str, list[bytes]]:
    cases = {f"event {name}": changed for name, changed in tamperings(lines).items()}
    at_20, sig_20 = index(lines, "checkpoint", 20), index(lines, "signature", 20)
    at_40 = index(lines, "checkpoint", 40)
    event_50 = index(lines, "position", 50)
    cp = msgspec.json.decode(lines[at_20])
    cases.update({
        "checkpoint hash": edited(lines, at_20, global_hash="0" * 64),
        "checkpoint moved": edited(lines, at_20, checkpoint=19),
        "signature forged": edited(lines, sig_20, value=msgspec.json.decode(lines[at_40 + 1])["value"]),
        "signature before its checkpoint": [*lines[:at_20], lines[sig_20], lines[at_20], *lines[sig_20 + 1:]],
        "signature far from its checkpoint": [*lines[:sig_20], *lines[sig_20 + 1:event_50], lines[sig_20],
                                              *lines[event_50:]],
        "signature for no checkpoint": edited(lines, sig_20, signature=21),
        "signature unreadable": edited(lines, sig_20, public_key="not base64!"),
        "stranger signs": [*lines[:at_40], signature_line(STRANGER, "coop", 20, cp["global_hash"]), *lines[at_40:]],
        "checkpoint unsigned": [line for n, line in enumerate(lines) if n != index(lines, "signature", 30)],
        "second header": [*lines[:event_50], lines[0], *lines[event_50:]],
        "blank lines": [*lines[:event_50], b"", b"   ", *lines[event_50:]],
        "unreadable line": [*lines[:event_50], b'{"specversion": oops', *lines[event_50:]],
        "tail cut": lines[:event_50],
        "header only": lines[:1],
        "no header": lines[1:],
        "id reused far away": edited(lines, event_50, id=msgspec.json.decode(lines[3])["id"]),
        "stream chain cut across events": edited(lines, event_50, chainhash="ab" * 32),
        "forged: nothing": reforged(lines),
        "forged: an id reused far away": reforged(edited(lines, event_50, id=msgspec.json.decode(lines[3])["id"])),
        "forged: an id reused nearby": reforged(edited(lines, event_50, id=msgspec.json.decode(lines[event_50 - 2])["id"])),
        "forged: a position skipped": reforged(lines[:event_50] + lines[event_50 + 1:]),
        "forged: a position repeated": reforged(edited(lines, event_50, position=49)),
        "forged: a stream version skipped": reforged(edited(lines, event_50, streamversion=99)),
        "forged: a stream renamed": reforged(edited(lines, event_50, streamid="test.stream.9")),
    })
    return cases


HARMLESS = {"event clean", "forged: nothing", "blank lines", "signature far from its checkpoint"}
"""Cases that change nothing an auditor relies on: each verifies (a tampering that verifies would be a bug)."""
UNPINNED = {"stranger signs", "checkpoint unsigned"}
"""Cases only pinned keys find."""


def written(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def everything(report: Report) -> tuple[object, ...]:
    """The report, dict orders included."""
    return (report, list(report.signatures.items()), list(report.signed_by.items()))


@pytest.mark.parametrize("trust", [None, TRUST], ids=["unpinned", "pinned"])
def test_every_core_reports_exactly_what_one_process_reports(tmp_path: Path, trust: Trust | None) -> None:
    cases = signed_tamperings(signed_export())
    for name, lines in cases.items():
        path = written(tmp_path, lines)
        with path.open("rb") as handle:
            alone = everything(verify_lines(handle, trust))
        assert everything(verify_file(path, trust, jobs=1)) == alone, name
        assert alone[0].ok == (name in HARMLESS or (trust is None and name in UNPINNED)), name
        for jobs, chunk in ((2, verify_parallel.CHUNK), (3, verify_parallel.CHUNK), (2, 1)):
            assert everything(verify_file(path, trust, jobs=jobs, chunk=chunk)) == alone, (name, jobs, chunk)
    clean = verify_file(written(tmp_path, cases["event clean"]), trust, jobs=2)
    assert clean.ok and clean.events == 60 and clean.checkpoints == 6
    assert verify_file(written(tmp_path, cases["forged: nothing"]), trust, jobs=2) == clean
    assert sum(clean.signatures.values()) == 9 and not verify_file(written(tmp_path, cases["tail cut"]), jobs=2).ok


@pytest.mark.parametrize("jobs, chunk", [(2, verify_parallel.CHUNK), (3, 1)])
def test_a_clean_export_is_verified_in_chunks_without_the_one_process_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, chunk: int) -> None:
    path = written(tmp_path, signed_export())
    far = signed_tamperings(signed_export())["signature far from its checkpoint"]  # checked by the parent
    far_path = tmp_path / "far.jsonl"
    far_path.write_bytes(b"".join(line + b"\n" for line in far))
    chunks = []
    real = verify_parallel._verify_chunk

    def counted(task: tuple[Path, int, int, bytes | None, bool]) -> verify_parallel._Chunk | None:
        found = real(task)
        chunks.append(found is not None)
        return found

    def no_second_pass(*args: object) -> Report:
        raise AssertionError("a clean export went through the one-process verifier")

    monkeypatch.setattr(verify_parallel, "verify_lines", no_second_pass)
    monkeypatch.setattr(verify_parallel, "_verify_chunk", counted)
    monkeypatch.setattr(verify_parallel.multiprocessing, "get_context", lambda method=None: _InProcess())
    assert verify_file(path, TRUST, jobs=jobs, chunk=chunk).ok
    assert len(chunks) >= jobs and all(chunks)
    assert verify_file(far_path, TRUST, jobs=jobs, chunk=chunk).ok


class _InProcess:
    """A pool that runs its tasks here, so the test can count them (the real one is tested above)."""

    def Pool(self, processes: int, initializer: Callable[..., None], initargs: tuple[object, ...]) -> _InProcess:
        return self

    def Event(self) -> threading.Event:
        return threading.Event()

    def imap(self, work: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        return map(work, tasks)

    def close(self) -> None:
        pass

    def join(self) -> None:
        pass

    def terminate(self) -> None:
        pass
