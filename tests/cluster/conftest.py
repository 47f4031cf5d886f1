"""A copro cluster on loopback for the replica tests: three NATS nodes in one JetStream cluster (the
COPRO stream with three replicas) and two replicas of every service, on the module's own database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from shared.runtime.cluster import NatsCluster, NatsNode, Replica, Replicas
from shared.runtime.embedded import Servers, free_port
from shared.runtime.leader import leaders
from shared.runtime.settings import SERVICE_NAMES
from tests.conftest import drop_database, fresh_database

REPLICAS = 2


@dataclass
class Cluster:
    nats: NatsCluster
    replicas: Replicas
    database_url: str
    home: Path

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {(self.home / 'operator-token').read_text().strip()}"}

    async def leaders(self) -> dict[str, int]:
        """Which process (its pid) leads each background role, from the lock holders' names."""
        conn = await asyncpg.connect(self.database_url)
        try:
            found = await leaders(conn)
        finally:
            await conn.close()
        return {role: int(holder.rsplit(":", 1)[1]) for role, holder in found.items()}

    async def leader(self, role: str, timeout: float = 30.0, other_than: int | None = None) -> Replica:
        """The replica leading ``role``, waiting (bounded) until a live one other than ``other_than`` does."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            pid = (await self.leaders()).get(role)
            if pid is not None and pid != other_than:
                replica = next((r for r in self.replicas.members if r.pid == pid and r.alive()), None)
                if replica is not None:
                    return replica
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no live replica took over {role} within {timeout}s")
            await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def cluster(servers: Servers, template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("cluster")
    nodes = [NatsNode(f"n{i + 1}", free_port(), free_port(), free_port()) for i in range(3)]
    nats = NatsCluster(folder / "nats", nodes)
    url = await fresh_database(servers, template_db, "cluster")
    home = folder / "home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COPRO_")},
        "COPRO_HOME": str(home), "COPRO_DATABASE_URL": url, "COPRO_NATS_URL": nats.url, "COPRO_NATS_REPLICAS": "3",
        "COPRO_NATS_CREDENTIALS": str(nats.credentials),
        "COPRO_LOG_LEVEL": "warning", "COPRO_WEBHOOK_RETRY_BASE": "0.05",
        "COPRO_WEBHOOK_PRIVATE_TARGETS": "1",  # the receivers listen on loopback
    }
    replicas = Replicas(env, {name: [free_port() for _ in range(REPLICAS)] for name in SERVICE_NAMES}, folder / "logs")
    try:
        nats.start()
        await asyncio.to_thread(nats.wait_ready)
        replicas.start_all()
        await asyncio.to_thread(replicas.wait_ready)
        yield Cluster(nats, replicas, url, home)
    finally:
        replicas.stop_all()
        nats.stop()
        await drop_database(servers, url)
