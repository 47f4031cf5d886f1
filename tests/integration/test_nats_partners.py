"""The shipped NATS partner configuration: a partner reads its group's subjects and nothing else."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js import api

from shared.fanout.relay import ensure_stream
from shared.runtime.embedded import free_port, nats_server_binary
from tests.integration.nats_waits import delivered, refusals

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "partners.conf"


@pytest.fixture
def partner_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    group = uuid.uuid4()
    port = free_port()
    config = (re.sub(r'"([A-Z]+)_PASSWORD"', lambda m: f'"{m.group(1).lower()}-secret"', DEPLOY.read_text())
              .replace("GROUP_ID", str(group)).replace("127.0.0.1:4222", f"127.0.0.1:{port}")
              .replace('"./jetstream"', f'"{tmp_path / "js"}"'))
    path = tmp_path / "partners.conf"
    path.write_text(config)
    checked = subprocess.run([nats_server_binary(), "-t", "-c", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    server = subprocess.Popen([nats_server_binary(), "-c", str(path)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(600):
        if _listening(port):
            break
        time.sleep(0.05)
    yield f"nats://127.0.0.1:{port}", group
    server.terminate()
    server.wait()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_a_partner_subscribes_to_its_groups_subjects_only_and_publishes_nothing(partner_server) -> None:  # type: ignore[no-untyped-def]
    url, group = partner_server
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    copro = await nats.connect(url, user="relay", password="relay-secret", inbox_prefix="_INBOX_relay")
    partner = await nats.connect(url, user="partner-example", password="partner-secret", error_cb=on_error,
                                 inbox_prefix="_INBOX_partner-example")
    try:
        mine = await partner.subscribe(f"copro.{group}.>")
        await partner.subscribe(f"copro.{uuid.uuid4()}.>")  # another group: refused by the server
        await partner.publish(f"copro.{group}.decisions.Forged", b"{}")  # refused too
        message = await delivered(copro, f"copro.{group}.decisions.ProposalClosed", b'{"ok": true}', mine)
        assert message.data == b'{"ok": true}'
        violations = await refusals(errors, "for subscription", "for publish")
        assert "permissions violation for subscription" in violations
        assert "permissions violation for publish" in violations
    finally:
        await partner.close()
        await copro.close()


async def _connect(url: str, user: str, errors: list[Exception] | None = None) -> nats.aio.client.Client:
    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(exc)

    return await nats.connect(url, user=user, password=f"{user.split('-')[0]}-secret", error_cb=on_error,
                              inbox_prefix=f"_INBOX_{user}")


async def test_a_partner_reads_its_group_through_a_durable_consumer_and_writes_nothing(partner_server) -> None:  # type: ignore[no-untyped-def]
    url, group = partner_server
    other = uuid.uuid4()
    errors: list[Exception] = []
    relay = await _connect(url, "relay")
    partner = await _connect(url, "partner-example", errors)
    admin = await nats.connect(url, user="admin", password="admin-secret")
    try:
        writer = relay.jetstream()
        await ensure_stream(writer, "COPRO", 1)
        for subject in (f"copro.{group}.decisions.ProposalOpened", f"copro.{other}.decisions.ProposalOpened",
                        f"copro.{group}.decisions.ProposalClosed"):
            await writer.publish(subject, subject.encode())
        stored = (await admin.jetstream().stream_info("COPRO")).state.messages

        reader = partner.jetstream(timeout=2)
        sub = await reader.pull_subscribe(f"copro.{group}.>", durable="partner-example", stream="COPRO")
        messages = await sub.fetch(10, timeout=2)
        assert [m.subject for m in messages] == [f"copro.{group}.decisions.ProposalOpened",
                                                 f"copro.{group}.decisions.ProposalClosed"]
        for message in messages:
            await message.ack()
        await partner.flush()
        for _ in range(50):  # the server applies acks asynchronously
            info = await sub.consumer_info()
            if info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.05)
        assert info.num_ack_pending == 0 and info.num_pending == 0  # acknowledged: durable progress kept

        # the same durable cannot be pointed at another group, nor a second consumer made
        refused = partner.jetstream(timeout=0.5)
        for subject, durable in ((f"copro.{other}.>", "partner-example"), ("copro.>", "partner-example"),
                                 (f"copro.{group}.>", "partner-other")):
            with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.js.errors.Error)):
                await refused.add_consumer("COPRO", api.ConsumerConfig(name=durable, durable_name=durable,
                                                                      filter_subject=subject))
        # nothing into the stream, not by JetStream publish either; no other user's inbox
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await refused.publish(f"copro.{group}.decisions.Forged", b"{}", timeout=0.5)
        await partner.subscribe("_INBOX_relay.>")
        violations = await refusals(errors, "for publish to \"copro.", "for subscription to \"_inbox_relay.>\"")
        assert (await admin.jetstream().stream_info("COPRO")).state.messages == stored
        assert "permissions violation for publish to \"copro." in violations
        assert "permissions violation for subscription to \"_inbox_relay.>\"" in violations
    finally:
        for client in (partner, relay, admin):
            await client.close()
