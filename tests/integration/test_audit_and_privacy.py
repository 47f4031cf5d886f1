"""Auditors: export and verify detect every kind of tampering. Privacy: forgetting leaves no plaintext."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from litestar.testing import AsyncTestClient

from services.decisions.domain.proposal import proposal_decider, proposal_stream
from services.decisions.domain.tally import count
from services.decisions.events import BallotCast, ProposalClosed
from shared.audit.export import export_lines
from shared.audit.signing import message
from shared.audit.verify import verify_lines, verify_live
from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats
from tests.conftest import eventually, wait_sealed
from tests.integration.decisions_client import add, make_group, soon
from tests.integration.events import noted

NAME = "Zanele Okafor-Brightwater"


@pytest.fixture(scope="module")
async def history(api: AsyncTestClient, operator: dict[str, str], store: EventStore) -> dict[str, Any]:  # type: ignore[type-arg]
    """A group's real history plus enough other events for a checkpoint (every 1,000 positions)."""
    group = await make_group(api, operator)
    zanele = await add(api, operator, group, "zanele", "member", org=1, lived=True, name=NAME)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "consent", "title": "Hold the event in March", "closes_at": soon(days=3)})
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    await api.post(f"{url}/ballots", headers=group.tokens["zanele"],
                   json={"choice": {"stance": "disagree"}, "reason": f"{NAME} needs step-free access"})
    await api.post(f"{url}/ballots", headers=group.tokens["member"], json={"choice": {"stance": "agree"}})
    await api.post(f"{url}/comments", headers=group.tokens["zanele"], json={"text": f"Signed, {NAME}"})
    closed = await api.post(f"{url}/close", headers=group.tokens["facilitator"])
    assert closed.status_code == 200, closed.text
    other = new_id()
    for k in range(11):
        await store.append(group_id=other, stream_id=f"filler-{other}-{k}", expected_version=0,
                           events=[noted(i) for i in range(100)])
    total = await store.pool.fetchval("SELECT count(*) FROM events")
    await wait_sealed(store, total)
    return {"group": group, "zanele": zanele, "proposal": made.json()["proposal_id"], "url": url}


async def export(store: EventStore) -> list[bytes]:
    return [line for chunk in [c async for c in export_lines(store)] for line in chunk.splitlines()]


def position_of_line(line: bytes) -> int:
    return int(msgspec.json.decode(line)["position"])


def event_lines(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if b'"position"' in line]


async def test_a_clean_export_and_the_live_log_verify(store: EventStore, history: dict[str, Any]) -> None:
    lines = await export(store)
    report = verify_lines(lines)
    assert report.ok, report.findings
    assert report.events == len(event_lines(lines)) and report.checkpoints >= 1
    assert (await verify_live(store)).ok


async def test_each_kind_of_tampering_is_named_at_its_position(store: EventStore, history: dict[str, Any]) -> None:
    lines = await export(store)
    events = event_lines(lines)
    title = next(i for i in events if b"Hold the event in March" in lines[i])

    flipped = list(lines)
    flipped[title] = flipped[title].replace(b"in March", b"in Marcx")
    first = verify_lines(flipped).first
    assert first is not None and (first.problem, first.position) == ("altered", position_of_line(lines[title]))

    middle = events[len(events) // 2]
    deleted = lines[:middle] + lines[middle + 1:]
    first = verify_lines(deleted).first
    assert first is not None and (first.problem, first.position) == ("missing", position_of_line(lines[middle]))

    inserted = [*lines[:middle], lines[events[3]], *lines[middle:]]
    first = verify_lines(inserted).first
    assert first is not None and (first.problem, first.position) == ("inserted", position_of_line(lines[middle]))

    a, b = events[10], events[11]
    swapped = list(lines)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    first = verify_lines(swapped).first
    assert first is not None and (first.problem, first.position) == ("reordered", position_of_line(lines[a]))

    checkpoint = next(i for i, line in enumerate(lines) if line.startswith(b'{"checkpoint"'))
    forged = list(lines)
    sealed = msgspec.json.decode(lines[checkpoint])
    sealed["global_hash"] = ("0" if sealed["global_hash"][0] != "0" else "1") + sealed["global_hash"][1:]
    forged[checkpoint] = msgspec.json.encode(sealed)
    first = verify_lines(forged).first
    assert first is not None and (first.problem, first.position) == ("altered", sealed["checkpoint"])


async def test_the_command_line_exports_and_verifies_with_exit_codes(
    store: EventStore, history: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    env = dict(os.environ, COPRO_DATABASE_URL=database_url, COPRO_NATS_URL="nats://127.0.0.1:1",
               COPRO_HOME=str(tmp_path))
    out = tmp_path / "log.jsonl"
    cli = [sys.executable, "-m", "shared.runtime.cli", "audit"]
    subprocess.run([*cli, "export", "--out", str(out)], env=env, check=True, capture_output=True)
    good = subprocess.run([*cli, "verify", str(out)], env=env, capture_output=True, text=True)
    assert good.returncode == 0 and "verified" in good.stdout, good.stdout + good.stderr
    out.write_bytes(out.read_bytes().replace(b"in March", b"in April"))
    bad = subprocess.run([*cli, "verify", str(out)], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "altered" in bad.stdout
    live = subprocess.run([*cli, "verify", "--live"], env=env, capture_output=True, text=True)
    assert live.returncode == 0, live.stdout


async def test_checkpoints_are_signed_by_copro_and_countersigned_by_a_partner(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, history: dict[str, Any]  # type: ignore[type-arg]
) -> None:
    group = history["group"]

    async def signed() -> bool:
        latest = await api.get("/checkpoints/latest", headers=group.tokens["auditor"])
        return latest.status_code == 200 and any(s["signer"] == "copro" for s in latest.json()["signatures"])

    await eventually(signed, 60, "copro signing the checkpoint")
    latest = (await api.get("/checkpoints/latest", headers=group.tokens["auditor"])).json()
    assert all(s["valid"] for s in latest["signatures"])
    copro_key = (await api.get("/checkpoints/key")).json()["public_key"]
    assert [s["public_key"] for s in latest["signatures"] if s["signer"] == "copro"] == [copro_key]

    partner = Ed25519PrivateKey.generate()  # kept by the partner, never sent to copro
    org = group.orgs[0]
    public = base64.b64encode(partner.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    registered = await api.put(f"{group.base}/organisations/{org}/key", headers=group.tokens["facilitator"],
                               json={"public_key": public})
    assert registered.status_code == 200, registered.text
    position, chain = latest["position"], bytes.fromhex(latest["global_hash"])
    url = f"{group.base}/checkpoints/{position}/signatures"
    forged = base64.b64encode(partner.sign(message(position, b"\0" * 32))).decode()
    refused = await api.post(url, headers=group.tokens["facilitator"], json={"organisation_id": org, "signature": forged})
    assert refused.status_code == 422 and refused.json()["field"] == "signature"
    good = base64.b64encode(partner.sign(message(position, chain))).decode()
    accepted = await api.post(url, headers=group.tokens["facilitator"], json={"organisation_id": org, "signature": good})
    assert accepted.status_code == 201, accepted.text
    other_org = await api.post(url, headers=group.tokens["facilitator"],
                               json={"organisation_id": group.orgs[1], "signature": good})
    assert other_org.status_code == 403
    nowhere = await api.post(f"{group.base}/checkpoints/{position + 1}/signatures", headers=group.tokens["facilitator"],
                             json={"organisation_id": org, "signature": good})
    assert nowhere.status_code == 404 and nowhere.json()["field"] == "position", nowhere.text  # not "does not verify"
    unmatched = await api.get("/groups/not-a-uuid/proposals", headers=group.tokens["facilitator"])
    assert unmatched.status_code == 404 and "UUID" in unmatched.json()["detail"], unmatched.text

    lines = await export(store)
    report = verify_lines(lines)
    assert report.ok and report.signatures == {"copro": 1, f"organisation:{org}": 1}
    signature_line = next(i for i, line in enumerate(lines) if line.startswith(b'{"signature"') and b"organisation" in line)
    tampered = msgspec.json.decode(lines[signature_line])
    tampered["value"] = base64.b64encode(partner.sign(b"something else")).decode()
    forged_lines = list(lines)
    forged_lines[signature_line] = msgspec.json.encode(tampered)
    first = verify_lines(forged_lines).first
    assert first is not None and (first.problem, first.position) == ("altered", position)


async def test_forgetting_a_member_leaves_no_plaintext_yet_everything_verifies(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, history: dict[str, Any],  # type: ignore[type-arg]
    own_nats: EmbeddedNats,
) -> None:
    group = history["group"]
    before = (await api.get(group.base, headers=operator)).json()
    assert NAME in str(before)
    forgotten = await api.post(f"{group.base}/members/{history['zanele']}/forget", headers=group.tokens["facilitator"],
                               json={"consent": "asked in person at the weekly meeting, agreed"})
    assert forgotten.status_code == 200, forgotten.text
    assert forgotten.json()["name"] is None
    assert NAME not in str((await api.get(group.base, headers=operator)).json())
    detail = (await api.get(f"{history['url']}/history", headers=group.tokens["auditor"])).json()
    assert NAME not in str(detail)

    # no table holds the plaintext, in any column
    tables = [r["tablename"] for r in await store.pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    for table in tables:
        for row in await store.pool.fetch(f'SELECT * FROM "{table}"'):
            for value in row.values():
                raw = value if isinstance(value, bytes) else str(value).encode()
                assert b"Zanele" not in raw and b"Okafor" not in raw, (table, value)
    # nor an export, which still verifies
    lines = await export(store)
    assert not any(b"Zanele" in line or b"Okafor" in line for line in lines)
    assert verify_lines(lines).ok and (await verify_live(store)).ok
    # nor anything on NATS (personal fields travel encrypted, before and after)
    await eventually(lambda: _relayed(own_nats, history), 60, "the relay caught up")
    client = await nats.connect(own_nats.admin_url)
    try:
        js = client.jetstream()
        info = await js.stream_info("COPRO")
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            body = (await js.get_msg("COPRO", seq=seq)).data or b""
            assert b"Zanele" not in body and b"Okafor" not in body
    finally:
        await client.close()
    # and the recorded outcome still recomputes from the ballots it names
    recorded = await store.read_stream(proposal_stream(uuid.UUID(history["proposal"])))
    decoded = [proposal_decider.decode(r) for r in recorded]
    closed = next(e for e in decoded if isinstance(e, ProposalClosed))
    ballots = {e.event_id: e for e in decoded if isinstance(e, BallotCast)}
    assert [b.reason for b in ballots.values() if b.member_id == uuid.UUID(history["zanele"])] == [None]
    state = proposal_decider.fold(decoded)
    assert count(state.question(), [ballots[i] for i in closed.outcome.counted_ballots]) == closed.outcome


async def _relayed(own_nats: EmbeddedNats, history: dict[str, Any]) -> bool:
    client = await nats.connect(own_nats.admin_url)
    try:
        info = await client.jetstream().stream_info("COPRO")
        return bool(info.state.messages > 1000)
    except Exception:
        return False
    finally:
        await client.close()
