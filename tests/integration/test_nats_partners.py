"""The shipped NATS partner configuration: a partner reads its group's subjects and nothing else."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import uuid
from pathlib import Path

import nats
import pytest

from shared.runtime.embedded import free_port, nats_server_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "partners.conf"


@pytest.fixture
def partner_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    group = uuid.uuid4()
    port = free_port()
    config = (DEPLOY.read_text().replace("COPRO_PASSWORD", "copro-secret").replace("PARTNER_PASSWORD", "partner-secret")
              .replace("GROUP_ID", str(group)).replace("127.0.0.1:4222", f"127.0.0.1:{port}")
              .replace('"./jetstream"', f'"{tmp_path / "js"}"'))
    path = tmp_path / "partners.conf"
    path.write_text(config)
    checked = subprocess.run([nats_server_binary(), "-t", "-c", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    server = subprocess.Popen([nats_server_binary(), "-c", str(path)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(100):
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

    copro = await nats.connect(url, user="copro", password="copro-secret")
    partner = await nats.connect(url, user="partner-example", password="partner-secret", error_cb=on_error)
    try:
        mine = await partner.subscribe(f"copro.{group}.>")
        await partner.subscribe(f"copro.{uuid.uuid4()}.>")  # another group: refused by the server
        await partner.publish(f"copro.{group}.decisions.Forged", b"{}")  # refused too
        await partner.flush()
        await copro.publish(f"copro.{group}.decisions.ProposalClosed", b'{"ok": true}')
        await copro.flush()
        message = await mine.next_msg(timeout=5)
        assert message.data == b'{"ok": true}'
        await asyncio.sleep(0.3)
        violations = " ".join(str(e) for e in errors).lower()
        assert "permissions violation for subscription" in violations
        assert "permissions violation for publish" in violations
    finally:
        await partner.close()
        await copro.close()
