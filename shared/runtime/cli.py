"""The ``copro`` command: up, migrate, serve, status, down.

Services are started by import string (``services.<name>.app:create_app``),
so this kernel module never imports a service.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.audit.replay import drop_scratch, replay
from shared.audit.report import html_report
from shared.audit.verify import Report, export_lines, verify_lines, verify_live
from shared.eventlog.forgetting import forget
from shared.eventlog.migrate import migrate_url
from shared.eventlog.store import EventStore
from shared.readmodels.projections import Projection, rebuild
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres, ensure_servers, stop_servers
from shared.runtime.settings import SERVICE_NAMES, Settings, load_settings


def _prepare(settings: Settings) -> tuple[str, str, tuple[str, ...]]:
    """Start what is missing, migrate, and make the operator token."""
    import asyncpg

    from shared.access.tokens import ensure_operator_token

    servers = ensure_servers(settings)

    async def setup() -> list[str]:
        applied = await migrate_url(servers.database_url)
        conn = await asyncpg.connect(servers.database_url)
        try:
            await ensure_operator_token(conn, settings.operator_token_path)
        finally:
            await conn.close()
        return applied

    try:
        applied = asyncio.run(setup())
    except BaseException:
        stop_servers(settings, servers.started)  # leave nothing running that this call started
        raise
    if applied:
        print(f"migrations applied: {', '.join(applied)}")
    return servers.database_url, servers.nats_url, servers.started


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def cmd_up(settings: Settings) -> int:
    settings.home.mkdir(parents=True, exist_ok=True)
    database_url, nats_url, started = _prepare(settings)
    env = dict(os.environ, COPRO_DATABASE_URL=database_url, COPRO_NATS_URL=nats_url, COPRO_HOME=str(settings.home))
    children = {
        name: subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "serve", name], env=env)
        for name in SERVICE_NAMES
    }
    stopping = False

    def shutdown(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    code = 0
    try:
        deadline = time.monotonic() + 60
        pending = set(SERVICE_NAMES)
        while pending and not stopping and time.monotonic() < deadline:
            for name in list(pending):
                if children[name].poll() is not None:
                    print(f"copro: {name} exited during start-up", file=sys.stderr)
                    return 1
                if _healthy(f"http://{settings.host}:{settings.ports[name]}/healthz"):
                    pending.discard(name)
            time.sleep(0.2)
        if pending and not stopping:
            print(f"copro: not healthy after 60s: {', '.join(sorted(pending))}", file=sys.stderr)
            return 1
        print("copro is up:")
        for name in SERVICE_NAMES:
            base = f"http://{settings.host}:{settings.ports[name]}"
            print(f"  {name:<11} {base}   (API docs {base}/schema)")
        print(f"  database    {database_url}")
        print(f"  nats        {nats_url}")
        print(f"  operator token in {settings.operator_token_path}")
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"copro: {name} stopped unexpectedly (exit {child.returncode})", file=sys.stderr)
                    stopping, code = True, 1
            time.sleep(0.3)
    finally:
        stopped_at = time.monotonic()
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        print(f"services stopped ({time.monotonic() - stopped_at:.1f}s)", flush=True)
        if started:
            stop_servers(settings, started)
        print("copro stopped.", flush=True)
    return code


def cmd_serve(settings: Settings, service: str, port: int | None, workers: int) -> int:
    import uvicorn

    uvicorn.run(
        f"services.{service}.app:create_app",
        factory=True,
        host=settings.host,
        port=port or settings.ports[service],
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=os.environ.get("COPRO_LOG_LEVEL", "info"),
        access_log=False,
    )
    return 0


def cmd_status(settings: Settings) -> int:
    pg = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
    nats = EmbeddedNats(settings.home, settings.embedded_nats_port)
    db = settings.database_url or (f"{pg.url} (embedded, {'running' if pg.running() else 'stopped'})")
    bus = settings.nats_url or (f"{nats.url} (embedded, {'running' if nats.running() else 'stopped'})")
    print(f"home        {settings.home}")
    print(f"database    {db}")
    print(f"nats        {bus}")
    all_up = True
    for name in SERVICE_NAMES:
        base = f"http://{settings.host}:{settings.ports[name]}"
        up = _healthy(base + "/healthz")
        ready = up and _healthy(base + "/readyz")
        all_up = all_up and ready
        print(f"{name:<11} {base}  {'ready' if ready else 'up, not ready' if up else 'down'}")
    return 0 if all_up else 3


PROJECTION_MODULES = tuple(f"services.{name}.projections" for name in SERVICE_NAMES)
CHECKER_MODULES = tuple(f"services.{name}.audit" for name in SERVICE_NAMES)


def discover(modules: Sequence[str], attribute: str) -> list[Any]:
    """What the services declare under ``attribute`` in the given modules.

    Found by module name, so the kernel never imports a service statically.
    """
    found: list[Any] = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found.extend(getattr(module, attribute, ()))
    return found


def discover_projections(modules: Sequence[str]) -> dict[str, Projection]:
    """Projections the services declare (``PROJECTIONS`` in ``services.<name>.projections``)."""
    return {p.name: p for p in discover(modules, "PROJECTIONS")}


def cmd_projections(settings: Settings, action: str, names: list[str], modules: Sequence[str]) -> int:
    known = discover_projections(modules)
    if action == "list":
        for name in sorted(known):
            print(name)
        if not known:
            print("no projections declared")
        return 0
    unknown = sorted(set(names) - set(known))
    if unknown:
        print(f"copro: unknown projection {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}",
              file=sys.stderr)
        return 2
    database_url, _, _ = _prepare(settings)

    def progress(name: str) -> Callable[[int, int], None]:
        def show(position: int, head: int) -> None:
            end = "\r" if sys.stderr.isatty() else "\n"
            print(f"{name}: {position:,} of {head:,} events ({100 * position // max(head, 1)}%)", end=end,
                  file=sys.stderr, flush=True)
        return show

    async def run() -> None:
        store = await EventStore.connect(database_url)
        try:
            for name in names or sorted(known):
                position = await rebuild(store, known[name], progress=progress(name))
                print(f"{name}: rebuilt from 0 to position {position:,} and swapped in")
        finally:
            await store.close()

    asyncio.run(run())
    return 0


def _with_store(settings: Settings, work: Callable[[EventStore], Awaitable[int]]) -> int:
    database_url, _, _ = _prepare(settings)

    async def run() -> int:
        store = await EventStore.connect(database_url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def cmd_audit_export(settings: Settings, group: uuid.UUID | None, out: str | None) -> int:
    to_file = out not in (None, "-")
    target = open(out, "wb") if to_file and out else sys.stdout.buffer  # noqa: SIM115 (closed below)

    async def export(store: EventStore) -> int:
        head, written = await store.head_position(), 0
        async for chunk in export_lines(store, group):
            target.write(chunk)
            written += chunk.count(b"\n")
            if to_file and sys.stderr.isatty():
                print(f"\rexported {written:,} lines (log head {head:,})", end="", file=sys.stderr, flush=True)
        if to_file:
            print(f"\nexported the log up to position {head:,} to {out}", file=sys.stderr)
        return 0

    try:
        return _with_store(settings, export)
    finally:
        if to_file:
            target.close()


def _print_report(report: Report) -> int:
    checked = "checked" if report.global_chain_checked else "not checked (a one-group export)"
    signed = ", ".join(f"{signer} {count:,}" for signer, count in sorted(report.signatures.items())) or "none"
    print(f"events {report.events:,}, streams {report.streams:,}, checkpoints {report.checkpoints:,} "
          f"(signatures: {signed}); global chain {checked}")
    first = report.first
    if first is None:
        print("verified: nothing was altered, removed, inserted or reordered")
        return 0
    print(f"TAMPERED: first problem at position {first.position}: {first.problem} ({first.detail})")
    for finding in report.findings[1:10]:
        print(f"  also position {finding.position}: {finding.problem} ({finding.detail})")
    return 1


def cmd_audit_verify(settings: Settings, path: str | None) -> int:
    if path is not None:
        with open(path, "rb") as handle:
            return _print_report(verify_lines(handle))

    async def live(store: EventStore) -> int:
        return _print_report(await verify_live(store))

    return _with_store(settings, live)


def _until(text: str | None) -> int | datetime | None:
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(f"copro: --until takes a position or an ISO time, not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_audit_replay(settings: Settings, until: str | None, group: uuid.UUID | None, html: str | None,
                     keep: bool) -> int:
    projections = list(discover_projections(PROJECTION_MODULES).values())
    checkers = [factory() for factory in discover(CHECKER_MODULES, "CHECKERS")]

    def progress(position: int, last: int) -> None:
        if sys.stderr.isatty():
            print(f"\rreplayed {position:,} of {last:,}", end="", file=sys.stderr, flush=True)

    async def run(store: EventStore) -> int:
        result = await replay(store, projections, checkers, until=_until(until), group_id=group, progress=progress)
        if not keep:
            await drop_scratch(store, result.schema)
        print(f"\nreplayed {result.events:,} events up to position {result.until:,}"
              f"{'' if group is None else f' of group {group}'}")
        print(f"read models rebuilt: {', '.join(sorted(result.tables)) or 'none'}"
              f"{f' (kept in schema {result.schema})' if keep else ''}")
        print(f"{'check':<24} {'what':<22} {'count':>8}")
        for check in result.checks:
            for what, number in {**check.counts, "mismatches": len(check.mismatches)}.items():
                print(f"{check.name:<24} {what:<22} {number:>8,}")
            for mismatch in check.mismatches[:20]:
                print(f"  MISMATCH at position {mismatch.position} ({mismatch.stream_id}): {mismatch.detail}")
        reports.append(html_report(result))
        return 0 if result.ok else 1

    reports: list[str] = []
    code = _with_store(settings, run)
    if html and reports:
        Path(html).write_text(reports[0], encoding="utf-8")
        print(f"report written to {html}")
    return code


def cmd_forget(settings: Settings, member: uuid.UUID) -> int:
    async def run(store: EventStore) -> int:
        if await forget(store, member):
            print(f"forgot {member}: their key is destroyed; their personal data now reads as erased everywhere")
            return 0
        print(f"copro: no personal data key for {member} (unknown, or forgotten already)", file=sys.stderr)
        return 1

    return _with_store(settings, run)


def cmd_migrate(settings: Settings) -> int:
    database_url, _, _ = _prepare(settings)
    print(f"database {database_url} is up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copro", description="copro: an event-sourced backend for co-produced working groups")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start PostgreSQL and NATS (embedded unless URLs are set) and the three services")
    sub.add_parser("migrate", help="apply database migrations")
    serve = sub.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=SERVICE_NAMES)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("status", help="show the servers and the services' health")
    sub.add_parser("down", help="stop the embedded PostgreSQL and NATS")
    sub.add_parser("demo", help="load a realistic working group through the HTTP API (needs copro up)")
    audit = sub.add_parser("audit", help="export the log, or verify an export or the live log")
    audit_sub = audit.add_subparsers(dest="audit", required=True)
    export = audit_sub.add_parser("export", help="the history as CloudEvents JSON lines with integrity fields")
    export.add_argument("--group", type=uuid.UUID, default=None, help="only this group's events")
    export.add_argument("--out", default=None, help="file to write (default: standard output)")
    verify = audit_sub.add_parser("verify", help="check every hash chain and checkpoint; exit 1 on tampering")
    verify.add_argument("file", nargs="?", help="an export to verify offline")
    verify.add_argument("--live", action="store_true", help="verify the log in the database")
    replaying = audit_sub.add_parser("replay", help="rebuild read models as of a point and recompute every outcome")
    replaying.add_argument("--until", default=None, help="a global position or an ISO time (default: now)")
    replaying.add_argument("--group", type=uuid.UUID, default=None, help="only this group's events")
    replaying.add_argument("--html", default=None, help="also write an HTML report with a timeline")
    replaying.add_argument("--keep", action="store_true", help="keep the scratch schema for inspection")
    forgetting = sub.add_parser("forget", help="destroy a person's data key (crypto-shredding)")
    forgetting.add_argument("member", type=uuid.UUID)
    projections = sub.add_parser("projections", help="list read models, or rebuild them from position 0")
    projections.add_argument("action", choices=("list", "rebuild"))
    projections.add_argument("names", nargs="*", help="projections to rebuild (default: all)")
    projections.add_argument("--module", action="append", dest="modules",
                             help="also look for PROJECTIONS in this module (repeatable)")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except RuntimeError as exc:  # start-up problems the user can act on: say so, no traceback
        print(f"copro: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.command == "up":
        return cmd_up(settings)
    if args.command == "migrate":
        return cmd_migrate(settings)
    if args.command == "serve":
        return cmd_serve(settings, args.service, args.port, args.workers)
    if args.command == "status":
        return cmd_status(settings)
    if args.command == "audit" and args.audit == "export":
        return cmd_audit_export(settings, args.group, args.out)
    if args.command == "audit" and args.audit == "replay":
        return cmd_audit_replay(settings, args.until, args.group, args.html, args.keep)
    if args.command == "audit":
        if (args.file is None) == (not args.live):
            print("copro: give an export file or --live", file=sys.stderr)
            return 2
        return cmd_audit_verify(settings, args.file)
    if args.command == "forget":
        return cmd_forget(settings, args.member)
    if args.command == "demo":
        from shared.runtime.demo import run

        return run(settings)
    if args.command == "projections":
        return cmd_projections(settings, args.action, args.names, PROJECTION_MODULES + tuple(args.modules or ()))
    stop_servers(settings)
    print("embedded servers stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
