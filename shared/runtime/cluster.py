"""A copro cluster on one machine: three NATS servers in one JetStream cluster and replicas of each service.

It rehearses what ``deploy/`` describes (a replicated NATS, several replicas
of every service, background roles shared by leadership) with the same
binaries as the embedded runtime, on loopback only: ``copro up --cluster``
and the replica tests run it. Each node is an ordinary ``nats-server`` with
its own store directory and routes to the others; the COPRO stream is
created with ``COPRO_NATS_REPLICAS`` (3) replicas by the relay.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.runtime import nats_auth
from shared.runtime.credentials import passwords, with_user
from shared.runtime.embedded import nats_server_binary
from shared.runtime.processes import alive as _alive
from shared.runtime.processes import answers_ok
from shared.runtime.processes import port_open as _port_open
from shared.runtime.processes import wait_for_port as _wait_for_port
from shared.runtime.settings import SERVICE_NAMES

CLUSTER_FOLDER = "nats-cluster"
CLUSTER_SIZE = 3


@dataclass(frozen=True)
class NatsNode:
    """One server of the cluster: where clients connect, where routes connect, where it is monitored."""

    name: str
    client_port: int
    route_port: int
    monitor_port: int

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


class NatsCluster:
    """Three (or more) ``nats-server`` processes under ``folder``, each with its own JetStream store."""

    def __init__(self, folder: Path, nodes: Sequence[NatsNode], extra_config: Mapping[str, Any] | None = None,
                 stream: str = "COPRO") -> None:
        self.folder = folder
        self.nodes = list(nodes)
        self.extra_config = dict(extra_config or {})
        self.stream = stream
        self.credentials = folder.parent / "nats-passwords.json"
        """The users' passwords (mode 0600), as for the single embedded server: ``shared/runtime/nats_auth.py``."""

    def url_for(self, user: str) -> str:
        """Every node with a user's credentials (``admin`` for operators and tests)."""
        password = passwords(self.credentials, nats_auth.user_names(SERVICE_NAMES))[user]
        return ",".join(with_user(node.url, user, password) for node in self.nodes)

    @property
    def admin_url(self) -> str:
        return self.url_for(nats_auth.ADMIN_USER)

    @classmethod
    def on_ports(cls, home: Path, base: int, size: int = CLUSTER_SIZE) -> NatsCluster:
        """Node ``i`` listens on ``base + 1 + i`` for clients, ``+ 11 + i`` for routes, ``+ 21 + i`` for monitoring."""
        nodes = [NatsNode(f"copro-nats-{i + 1}", base + 1 + i, base + 11 + i, base + 21 + i) for i in range(size)]
        return cls(home / CLUSTER_FOLDER, nodes)

    @property
    def url(self) -> str:
        """Every node, comma-separated: what ``COPRO_NATS_URL`` takes."""
        return ",".join(node.url for node in self.nodes)

    def _dir(self, node: NatsNode) -> Path:
        return self.folder / node.name

    def config(self, node: NatsNode) -> dict[str, Any]:
        """A node's configuration (JSON is valid NATS configuration); ``deploy/nats/cluster.conf`` is its
        production form."""
        routes = [f"nats-route://127.0.0.1:{other.route_port}" for other in self.nodes if other != node]
        return {
            "server_name": node.name,
            "listen": f"127.0.0.1:{node.client_port}",
            "http": f"127.0.0.1:{node.monitor_port}",
            "jetstream": {"store_dir": str(self._dir(node) / "jetstream")},
            "cluster": {"name": "copro", "listen": f"127.0.0.1:{node.route_port}", "routes": routes},
            "authorization": self._authorization(),
            **self.extra_config,
        }

    def _authorization(self) -> dict[str, object]:
        from shared.runtime.discovery import reaction_durables

        return nats_auth.authorization(stream=self.stream, durables=reaction_durables(),
                                       passwords=passwords(self.credentials, nats_auth.user_names(SERVICE_NAMES)))

    def _pid(self, node: NatsNode) -> int | None:
        try:
            pid = int((self._dir(node) / "nats-server.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def running(self, node: NatsNode) -> bool:
        return self._pid(node) is not None and _port_open(node.client_port)

    def start(self) -> bool:
        """Start the nodes that do not run yet; True when this call started any."""
        started = False
        for node in self.nodes:
            if self.running(node):
                continue
            for port in (node.client_port, node.route_port, node.monitor_port):
                if _port_open(port):
                    raise RuntimeError(f"port {port} is taken: choose another base with COPRO_EMBEDDED_NATS_PORT")
            folder = self._dir(node)
            folder.mkdir(parents=True, exist_ok=True)
            config = folder / "nats-server.conf"
            config.write_text(json.dumps(self.config(node), indent=2) + "\n")
            config.chmod(0o600)
            with open(folder / "nats-server.log", "ab") as log:
                subprocess.Popen([nats_server_binary(), "-c", str(config), "-P", str(folder / "nats-server.pid")],
                                 stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
            started = True
        for node in self.nodes:
            _wait_for_port(node.client_port, 30, f"NATS {node.name}")
        return started

    def wait_ready(self, seconds: float = 60.0) -> None:
        """Wait until every node reports JetStream healthy (the cluster has elected its meta leader)."""
        deadline = time.monotonic() + seconds
        for node in self.nodes:
            while not answers_ok(f"http://127.0.0.1:{node.monitor_port}/healthz"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"NATS {node.name} not healthy within {seconds:.0f}s")
                time.sleep(0.1)

    def kill(self, node: NatsNode) -> None:
        """SIGKILL one node (for failure tests)."""
        pid = self._pid(node)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        stop_pids([pid for node in self.nodes if (pid := self._pid(node)) is not None])


def stop_pids(pids: Sequence[int], seconds: float = 10.0) -> None:
    """SIGTERM each process, then SIGKILL what is still alive after ``seconds``."""
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def stop_cluster(home: Path) -> bool:
    """Stop every NATS node a ``copro up --cluster`` left running under ``home``; True if there were any."""
    pids = []
    for pidfile in (home / CLUSTER_FOLDER).glob("*/nats-server.pid"):
        try:
            pid = int(pidfile.read_text().strip())
        except ValueError:
            continue
        if _alive(pid):
            pids.append(pid)
    stop_pids(pids)
    return bool(pids)


@dataclass
class Replica:
    """One process serving one service (``copro serve``) on its own port."""

    service: str
    index: int
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index + 1}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Replicas:
    """Every replica of every service, started with the same environment; each logs to its own file."""

    env: Mapping[str, str]
    ports: Mapping[str, Sequence[int]]
    logs: Path
    members: list[Replica] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.members = [Replica(service, i, port) for service, ports in self.ports.items()
                        for i, port in enumerate(ports)]

    def of(self, service: str) -> list[Replica]:
        return [r for r in self.members if r.service == service]

    def by_pid(self, pid: int) -> Replica:
        return next(r for r in self.members if r.pid == pid)

    def start(self, replica: Replica) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{replica.name}.log", "ab") as log:
            replica.process = subprocess.Popen(
                [sys.executable, "-m", "shared.runtime.cli", "serve", replica.service, "--port", str(replica.port)],
                env=dict(self.env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def start_all(self) -> None:
        for replica in self.members:
            self.start(replica)

    def wait_ready(self, seconds: float = 90.0, replicas: Sequence[Replica] | None = None) -> None:
        """Wait until each replica answers ``/readyz`` (database and NATS reachable) with 200."""
        deadline = time.monotonic() + seconds
        for replica in replicas or self.members:
            while not answers_ok(replica.url + "/readyz"):
                if not replica.alive():
                    raise RuntimeError(f"{replica.name} exited during start-up: see {self.logs / replica.name}.log")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{replica.name} not ready within {seconds:.0f}s")
                time.sleep(0.1)

    def kill(self, replica: Replica) -> None:
        """SIGKILL: no shutdown hooks, no goodbye to PostgreSQL or NATS, as when a machine dies."""
        if replica.process is not None:
            replica.process.kill()
            replica.process.wait()

    def stop_all(self, seconds: float = 15.0) -> None:
        running = [r.process for r in self.members if r.process is not None and r.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def replica_ports(base: Mapping[str, int], count: int) -> dict[str, list[int]]:
    """Replica ``i`` of a service listens on the service's port ``+ 10 * i`` (8101, 8111, ...)."""
    return {service: [port + 10 * i for i in range(count)] for service, port in base.items()}
