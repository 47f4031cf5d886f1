"""``copro audit export|verify|replay|trace|keys``: what an auditor needs."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from shared.audit.export import export_lines
from shared.audit.replay import drop_scratch, replay
from shared.audit.report import html_report
from shared.audit.signing import b64, fingerprint, public_bytes, signing_key
from shared.audit.trace import Step, actor_names, chain
from shared.audit.verify import Report, Trust, verify_live
from shared.audit.verify_parallel import verify_file
from shared.domain.errors import NotFound
from shared.eventlog.store import EventStore
from shared.runtime.cli.projections import discover_projections
from shared.runtime.cli.servers import prepare
from shared.runtime.discovery import CHECKER_MODULES, PROJECTION_MODULES, discover, reaction_names
from shared.runtime.settings import Settings


def _with_store(settings: Settings, work: Callable[[EventStore], Awaitable[int]], *, as_owner: bool = False) -> int:
    """Run ``work`` on the log as the app role (what the services may do), or as the owner for a replay,
    which builds its read models in a scratch schema of its own."""
    servers = prepare(settings)
    database_url = (servers.owner_url or servers.database_url) if as_owner else servers.database_url

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
        # a whole-log export's header is sealed over its end with copro's checkpoint key (export_lines)
        async for chunk in export_lines(store, group, head_key=signing_key(settings.home)):
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


VERIFIED, TAMPERED, UNUSABLE = 0, 1, 2
"""``copro audit verify`` exit codes: the log is as recorded; it was changed; the input is no usable export."""


def _print_report(report: Report, trust: Trust | None) -> int:
    if report.unusable is not None:
        print(f"copro: not a usable export: {report.unusable}", file=sys.stderr)
        return UNUSABLE
    checked = "checked" if report.global_chain_checked else "not checked (a one-group export)"
    print(f"events {report.events:,}, streams {report.streams:,}, checkpoints {report.checkpoints:,}; "
          f"global chain {checked}")
    for (signer, key), count in sorted(report.signed_by.items()):
        print(f"  {count:,} checkpoint signature(s) signed by {signer} ({key})")
    if not report.signed_by:
        print("  no valid checkpoint signature" + ("" if report.checkpoints else " (no checkpoint yet: one is made"
                                                   " every 1,000 positions)"))
    if report.sealed_by is not None:
        print(f"  positions up to {report.last_position:,} sealed by {report.sealed_by[0]} ({report.sealed_by[1]})"
              " as they were read")
    if trust is None and report.signed_by:
        print("  keys not pinned: anyone could have signed; pass --trust FILE (see copro audit keys)")
    if trust is not None and not report.global_chain_checked:
        print("copro: a one-group export carries no checkpoints, so no signature can be checked (its streams' chains"
              " were); verify a whole-log export with --trust for that", file=sys.stderr)
        return UNUSABLE
    if report.events and report.signed_through < report.last_position:
        print(f"  NOT SIGNED: positions {report.signed_through + 1:,} to {report.last_position:,} are covered by no"
              " signature: only hashes anyone can recompute cover them")
    first = report.first
    if first is None:
        print("verified: nothing was altered, removed, inserted or reordered"
              + (", and a pinned key signs every position" if trust is not None else ""))
        return VERIFIED
    print(f"TAMPERED: first problem at position {first.position}: {first.problem} ({first.detail})")
    found = sorted(report.findings, key=lambda f: f.position)
    for finding in found[1:10]:
        print(f"  also position {finding.position}: {finding.problem} ({finding.detail})")
    if len(found) > 10:
        print(f"  and {len(found) - 10:,} more, up to position {found[-1].position} ({found[-1].problem})")
    return TAMPERED


def cmd_audit_verify(settings: Settings, path: str | None, trust_file: str | None, jobs: int | None = None) -> int:
    try:
        trust = Trust.parse(Path(trust_file).read_text()) if trust_file else None
    except (OSError, ValueError) as exc:
        print(f"copro: cannot use the trust file {trust_file}: {exc}", file=sys.stderr)
        return UNUSABLE
    if path is not None:
        try:
            return _print_report(verify_file(path, trust, jobs), trust)
        except OSError as exc:
            print(f"copro: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            return UNUSABLE

    async def live(store: EventStore) -> int:
        return _print_report(await verify_live(store, trust=trust, head_key=signing_key(settings.home)), trust)

    return _with_store(settings, live)


def cmd_audit_keys(settings: Settings) -> int:
    """The checkpoint signing keys with their fingerprints, as a trust file a partner can keep and check."""
    async def run(store: EventStore) -> int:
        own = public_bytes(signing_key(settings.home))
        rows = await store.pool.fetch(
            "SELECT signer, public_key, count(*) AS signed, max(position) AS latest FROM checkpoint_signatures"
            " GROUP BY signer, public_key ORDER BY signer")
        print("# copro checkpoint signing keys: '<signer> <Ed25519 public key, base64>'.")
        print("# Compare each fingerprint with its owner's by another channel, then pass this file to")
        print("# copro audit verify --trust FILE.")
        signers: dict[tuple[str, bytes], tuple[int, int] | None] = {("copro", own): None}
        for r in rows:
            signers[(r["signer"], bytes(r["public_key"]))] = (r["signed"], r["latest"])
        for (signer, key), signed in signers.items():
            note = f"; signed {signed[0]:,} checkpoint(s), the latest at position {signed[1]:,}" if signed else ""
            print(f"# {signer}: {fingerprint(key)}{note}")
            print(f"{signer} {b64(key)}")
        return 0

    return _with_store(settings, run)


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
        if group is not None and not result.events:
            print(f"copro: the log holds no event of group {group} (up to position {result.until:,})", file=sys.stderr)
            return 1
        return 0 if result.ok else 1

    reports: list[str] = []
    code = _with_store(settings, run, as_owner=True)
    if html and reports:
        Path(html).write_text(reports[0], encoding="utf-8")
        print(f"report written to {html}")
    return code


def _line(step: Step) -> str:
    who = f"member {step.actor_id} of organisation {step.actor_org}" if step.actor == "member" else step.actor
    where = f"position {step.position}" if step.position is not None else "not yet sealed"
    return (f"{'  ' * abs(step.depth)}{step.recorded_at.isoformat(timespec='seconds')}  {step.type}  by {who}"
            f"  ({where}, event {step.id}, correlation {step.correlation_id})")


def cmd_audit_trace(settings: Settings, event_id: uuid.UUID, as_json: bool) -> int:
    """What caused an event and what it caused, with actors and times."""
    async def run(store: EventStore) -> int:
        try:
            found = await chain(store, event_id, names=actor_names(reaction_names()))
        except NotFound:
            print(f"copro: no event {event_id} in the log", file=sys.stderr)
            return 2
        if as_json:
            sys.stdout.write(msgspec.json.format(msgspec.json.encode(found)).decode() + "\n")
            return 0
        print("caused by:" if found.causes else "caused by: nothing (a request or the first event)")
        for step in found.causes:
            print(_line(step))
        print("the event:")
        print(_line(found.event))
        print(f"caused: {len(found.effects)} event(s)" + (":" if found.effects else ""))
        for step in found.effects:
            print(_line(step))
        print(f"{found.correlated} event(s) share its correlation id")
        return 0

    return _with_store(settings, run)
