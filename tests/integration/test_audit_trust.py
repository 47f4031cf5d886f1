"""Verifiable by partners: pinned signing keys, exit codes that say what happened, one finding per tampering."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.audit.export import export_lines
from shared.audit.signing import fingerprint, message, public_bytes, signing_key
from shared.audit.verify import Trust, verify_lines
from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from shared.runtime.settings import Settings
from tests.conftest import wait_sealed
from tests.integration.events import noted


@pytest.fixture(scope="module")
async def lines(store: EventStore, settings: Settings) -> list[bytes]:
    """An export of 2,200 events: two checkpoints, each signed with copro's key, and a header sealed with it over
    the export's end (as copro audit export makes it)."""
    group = new_id()
    for k in range(22):
        await store.append(group_id=group, stream_id=f"trust-{group}-{k % 5}", expected_version=None,
                           events=[noted(i) for i in range(100)])
    await wait_sealed(store, 2200)
    from shared.audit.signing import sign_pending

    await sign_pending(store, signing_key(settings.home))
    return [line for chunk in [c async for c in export_lines(store, head_key=signing_key(settings.home))]
            for line in chunk.splitlines()]


def _copro(settings: Settings) -> Trust:
    return Trust({"copro": {public_bytes(signing_key(settings.home))}})


def _lines_of(lines: list[bytes], start: bytes) -> list[int]:
    return [n for n, line in enumerate(lines) if line.startswith(start)]


def test_pinned_keys_verify_and_say_who_signed(lines: list[bytes], settings: Settings) -> None:
    report = verify_lines(lines, trust=_copro(settings))
    assert report.ok, report.findings
    key = public_bytes(signing_key(settings.home))
    assert report.signed_by == {("copro", fingerprint(key)): 2}  # checkpoints 1,000 and 2,000
    assert report.sealed_by == ("copro", fingerprint(key))  # and the export's end, in its header
    assert report.signed_through == report.last_position == 2200


def test_a_re_signed_export_fails_on_the_unknown_key(lines: list[bytes], settings: Settings) -> None:
    impostor = Ed25519PrivateKey.generate()
    forged = list(lines)
    for n in _lines_of(lines, b'{"signature"'):
        signed = json.loads(lines[n])
        checkpoint = json.loads(lines[n - 1])
        signed["public_key"] = base64.b64encode(public_bytes(impostor)).decode()
        signed["value"] = base64.b64encode(impostor.sign(message(
            signed["signature"], bytes.fromhex(checkpoint["global_hash"])))).decode()
        forged[n] = json.dumps(signed).encode()
    assert verify_lines(forged).ok  # without pinned keys a fresh key is self-consistent: that is the attack
    report = verify_lines(forged, trust=_copro(settings))
    assert {f.problem for f in report.findings} == {"untrusted", "unsigned"}
    assert report.first is not None and report.first.position == 1000


def test_an_export_with_its_signatures_removed_fails(lines: list[bytes], settings: Settings) -> None:
    stripped = [line for line in lines if not line.startswith(b'{"signature"')]
    assert verify_lines(stripped).ok
    report = verify_lines(stripped, trust=_copro(settings))
    assert [(f.position, f.problem) for f in report.findings] == [(1000, "unsigned"), (2000, "unsigned")]


def test_one_tampering_gives_one_finding(lines: list[bytes]) -> None:
    events = _lines_of(lines, b'{"specversion"')
    middle = events[len(events) // 2]
    deleted = lines[:middle] + lines[middle + 1:]
    assert [f.problem for f in verify_lines(deleted).findings] == ["missing"]
    altered = list(lines)
    altered[middle] = altered[middle].replace(b'"n":', b'"n": 1, "x":', 1)
    assert [f.problem for f in verify_lines(altered).findings] == ["altered"]
    a, b = events[10], events[11]
    swapped = list(lines)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    assert [f.problem for f in verify_lines(swapped).findings] == ["reordered"]
    inserted = [*lines[:middle], lines[events[3]], *lines[middle:]]
    assert [f.problem for f in verify_lines(inserted).findings] == ["inserted"]


def _cli(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "shared.runtime.cli", "audit", *args], capture_output=True, text=True,
                          env={**os.environ, "COPRO_HOME": str(env_home)})


def test_the_command_line_pins_keys_and_exits_zero_one_or_two(lines: list[bytes], settings: Settings,
                                                             tmp_path: Path) -> None:
    export = tmp_path / "log.jsonl"
    export.write_bytes(b"\n".join(lines) + b"\n")
    trusted = tmp_path / "trusted.keys"
    key = public_bytes(signing_key(settings.home))
    trusted.write_text(f"copro {base64.b64encode(key).decode()}\n")
    good = _cli("verify", str(export), "--trust", str(trusted), env_home=settings.home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert fingerprint(key) in good.stdout and "signed by copro" in good.stdout
    for jobs in ("1", "2"):  # one process or two (the default here: one per core), the same report
        same = _cli("verify", str(export), "--trust", str(trusted), "--jobs", jobs, env_home=settings.home)
        assert (same.returncode, same.stdout) == (good.returncode, good.stdout)
    other = tmp_path / "other.keys"
    other.write_text(f"partner {base64.b64encode(public_bytes(Ed25519PrivateKey.generate())).decode()}\n")
    bad = _cli("verify", str(export), "--trust", str(other), env_home=settings.home)
    assert bad.returncode == 1 and "untrusted" in bad.stdout
    garbage = tmp_path / "not-an-export.jsonl"
    garbage.write_text("hello\n")
    assert _cli("verify", str(garbage), env_home=settings.home).returncode == 2
    assert _cli("verify", str(tmp_path / "absent.jsonl"), env_home=settings.home).returncode == 2
    malformed = tmp_path / "bad.keys"
    malformed.write_text("copro not-base64!\n")
    assert _cli("verify", str(export), "--trust", str(malformed), env_home=settings.home).returncode == 2


def test_copro_audit_keys_prints_a_trust_file_that_verifies(lines: list[bytes], settings: Settings, database_url: str,
                                                            tmp_path: Path) -> None:
    import os

    keys = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "audit", "keys"], capture_output=True, text=True,
                          env={**os.environ, "COPRO_HOME": str(settings.home), "COPRO_DATABASE_URL": database_url})
    assert keys.returncode == 0, keys.stderr
    own = public_bytes(signing_key(settings.home))
    assert fingerprint(own) in keys.stdout and "signed 2 checkpoint(s), the latest at position 2,000" in keys.stdout
    trusted = Trust.parse(keys.stdout)
    assert trusted.keys == {"copro": {own}}
    assert verify_lines(lines, trust=trusted).ok


def test_a_cut_tail_fails_because_the_export_seals_its_end(lines: list[bytes], settings: Settings,
                                                          tmp_path: Path) -> None:
    """Before, events after the last checkpoint were covered only by hashes anyone can recompute: a cut or forged
    tail verified (the auditor's find); and a checkpoint's signature could stand in for an export's end (the
    partner's). The header's seal signs where the export ends, the chain there and when it was made."""
    events = _lines_of(lines, b'{"specversion"')
    for keep in (events[-5], events[2000] + 2):  # five events short; or exactly at checkpoint 2,000 and its signature
        cut = lines[:keep]
        last = json.loads(cut[_lines_of(cut, b'{"specversion"')[-1]])["position"]
        header = json.loads(cut[0])
        cut[0] = json.dumps({**header, "head": last}).encode()  # the header says the log ended there
        report = verify_lines(cut, trust=_copro(settings))
        assert tuple(sorted({f.problem for f in report.findings})) == ("altered", "unsigned"), report.findings
        assert verify_lines(cut).findings[0].problem == "altered"  # the seal shows it without pinned keys too
        unsealed = [json.dumps({k: v for k, v in header.items() if k not in ("seal", "head_hash", "public_key",
                                                                           "signer")} | {"head": last}).encode(),
                    *cut[1:]]
        assert [f.problem for f in verify_lines(unsealed, trust=_copro(settings)).findings] == (
            [] if last % 1000 == 0 else ["unsigned"])  # the seal removed: only checkpoints cover what is left
    short = lines[:events[-5]]  # the header left as it was: one cut, one finding, where it starts
    report = verify_lines(short, trust=_copro(settings))
    assert [(f.position, f.problem) for f in report.findings] == [(2196, "missing")], report.findings
    export = tmp_path / "cut.jsonl"
    unsealed_tail = [json.dumps({k: v for k, v in json.loads(lines[0]).items() if k != "seal"}).encode(), *lines[1:]]
    export.write_bytes(b"\n".join(unsealed_tail) + b"\n")
    told = _cli("verify", str(export), env_home=settings.home)
    assert told.returncode == 0 and "NOT SIGNED: positions 2,001 to 2,200" in told.stdout, told.stdout
    forged = list(lines)
    forged[events[-1]] = forged[events[-1]].replace(b'"n":', b'"n": 1, "x":', 1)
    assert not verify_lines(forged, trust=_copro(settings)).ok


def test_a_one_group_export_says_its_signatures_cannot_be_checked(lines: list[bytes], settings: Settings,
                                                                  tmp_path: Path) -> None:
    group = json.loads(lines[1])["groupid"]
    header = json.dumps({"format": "copro-export/1", "group_id": group, "head": 2200,
                         "exported_at": "2030-01-01T00:00:00Z"}).encode()
    own = [header, *(line for line in lines[1:] if line.startswith(b'{"specversion"') and group.encode() in line)]
    export = tmp_path / "group.jsonl"
    export.write_bytes(b"\n".join(own) + b"\n")
    trusted = tmp_path / "trusted.keys"
    trusted.write_text(f"copro {base64.b64encode(public_bytes(signing_key(settings.home))).decode()}\n")
    checked = _cli("verify", str(export), "--trust", str(trusted), env_home=settings.home)
    assert checked.returncode == 2 and "no signature can be checked" in checked.stderr, checked.stdout + checked.stderr
    assert _cli("verify", str(export), env_home=settings.home).returncode == 0
