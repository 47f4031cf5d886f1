"""``copro up --cluster``: three NATS nodes (JetStream, R3 stream) and replicas of every service, on this machine.

The PostgreSQL is the embedded one (or ``COPRO_DATABASE_URL``). A replica
that exits is started again, as an orchestrator would; the background roles
move to a surviving replica meanwhile.
"""

from __future__ import annotations

import signal
import sys
import time

import msgspec

from shared.runtime.cli.servers import prepare, service_env
from shared.runtime.cluster import CLUSTER_SIZE, NatsCluster, Replicas, replica_ports
from shared.runtime.credentials import masked
from shared.runtime.embedded import stop_servers
from shared.runtime.settings import SERVICE_NAMES, Settings


def cmd_up_cluster(settings: Settings, replicas: int) -> int:
    settings.home.mkdir(parents=True, exist_ok=True)
    cluster = NatsCluster.on_ports(settings.home, settings.embedded_nats_port)
    nats_started = cluster.start()
    started: tuple[str, ...] = ()
    group: Replicas | None = None
    stopping = False

    def shutdown(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        cluster.wait_ready()
        clustered = msgspec.structs.replace(settings, nats_url=cluster.url, nats_replicas=CLUSTER_SIZE,
                                            nats_credentials=cluster.credentials)
        servers = prepare(clustered)
        started = servers.started
        database_url, nats_url = masked(servers.database_url), servers.nats_url
        # no log process here: the replicas themselves lead the sealer and relay, taking over at once
        env = dict(service_env(clustered, servers), COPRO_NATS_REPLICAS=str(CLUSTER_SIZE), COPRO_LOG_ROLES_STANDBY="0")
        group = Replicas(env, replica_ports(settings.ports, replicas), settings.home / "logs")
        group.start_all()
        group.wait_ready()
        print(f"copro is up as a cluster: {CLUSTER_SIZE} NATS nodes, {replicas} replicas of each service")
        for name in SERVICE_NAMES:
            print(f"  {name:<11} " + "  ".join(r.url for r in group.of(name)))
        print(f"  database    {database_url}")
        print(f"  nats        {nats_url}  (stream {settings.nats_stream}, {CLUSTER_SIZE} replicas)")
        print(f"  logs in {settings.home / 'logs'}; operator token in {settings.operator_token_path}")
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping:
            for replica in group.members:
                if not replica.alive() and not stopping:
                    print(f"copro: {replica.name} exited; starting it again", file=sys.stderr, flush=True)
                    group.start(replica)
            time.sleep(0.5)
    except RuntimeError as exc:
        print(f"copro: {exc}", file=sys.stderr)
        return 1
    finally:
        if group is not None:
            group.stop_all()
        if nats_started:
            cluster.stop()
        if started:
            stop_servers(settings, started)
        print("copro stopped.", flush=True)
    return 0
