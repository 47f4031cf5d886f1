"""The ``copro`` command: one sub-command per module of this package.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable

from shared.runtime.cli.audit import (
    cmd_audit_export,
    cmd_audit_keys,
    cmd_audit_replay,
    cmd_audit_trace,
    cmd_audit_verify,
)
from shared.runtime.cli.invite import cmd_forget, cmd_invite
from shared.runtime.cli.projections import cmd_events, cmd_projections
from shared.runtime.cli.servers import cmd_migrate, cmd_serve, cmd_status, cmd_up
from shared.runtime.cli.tail import Shown, cmd_tail
from shared.runtime.cluster import stop_cluster
from shared.runtime.discovery import PROJECTION_MODULES
from shared.runtime.embedded import stop_servers
from shared.runtime.settings import SERVICE_NAMES, load_settings


def _at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` up, else argparse's own clear refusal."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}")
        return value
    return parse


def _said(text: str) -> str:
    """An argparse type: some words, not an empty string."""
    if not text.strip():
        raise argparse.ArgumentTypeError("say it in a few words, for example 'asked in person, agreed'")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copro", description="copro: an event-sourced backend for co-produced working groups")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start PostgreSQL and NATS (embedded unless URLs are set), the three services and "
                                   "the web app")
    up.add_argument("--cluster", action="store_true",
                    help="three NATS nodes (JetStream, R3 stream) and several replicas of each service, on loopback")
    up.add_argument("--replicas", type=_at_least(1), default=2, help="replicas of each service with --cluster (default 2)")
    sub.add_parser("migrate", help="apply database migrations")
    serve = sub.add_parser("serve", help="run one service, or the web app, in the foreground")
    serve.add_argument("service", choices=(*SERVICE_NAMES, "log", "web"))
    serve.add_argument("--port", type=_at_least(1), default=None)
    serve.add_argument("--workers", type=_at_least(1), default=1)
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
    verify.add_argument("--trust", metavar="FILE", default=None,
                        help="accept only signatures by these pinned keys (see copro audit keys); exit 0 verified, "
                             "1 tampered, 2 unusable input")
    verify.add_argument("--jobs", type=_at_least(1), default=None, metavar="N",
                        help="processes verifying an export at once (default: one per core; 1: a single process)")
    audit_sub.add_parser("keys", help="the checkpoint signing keys and their fingerprints, as a trust file")
    replaying = audit_sub.add_parser("replay", help="rebuild read models as of a point and recompute every outcome")
    replaying.add_argument("--until", default=None, help="a global position or an ISO time (default: now)")
    replaying.add_argument("--group", type=uuid.UUID, default=None, help="only this group's events")
    replaying.add_argument("--html", default=None, help="also write an HTML report with a timeline")
    replaying.add_argument("--keep", action="store_true", help="keep the scratch schema for inspection")
    tracing = audit_sub.add_parser("trace", help="what caused an event and everything it caused, with actors")
    tracing.add_argument("event", type=uuid.UUID)
    tracing.add_argument("--json", action="store_true", help="as JSON")
    inviting = sub.add_parser("invite", help="a one-time sign-in link to the web app for a member (the first facilitator)")
    inviting.add_argument("member", type=uuid.UUID)
    forgetting = sub.add_parser("forget", help="forget a member: recorded with the consent given, their tokens ended "
                                                "and their data key destroyed (crypto-shredding)")
    forgetting.add_argument("member", type=uuid.UUID)
    forgetting.add_argument("--consent", required=True, type=_said,
                            help="how the member's consent to be forgotten was given")
    tail = sub.add_parser("tail", help="follow a group's events live, readably (from the SSE stream)")
    tail.add_argument("group", type=uuid.UUID)
    tail.add_argument("--after", type=_at_least(0), default=None, help="start after this global position (default: now)")
    tail.add_argument("--service", action="append", default=[], choices=SERVICE_NAMES,
                      help="only this service's events (repeatable)")
    tail.add_argument("--type", action="append", default=[], dest="types",
                      help="only this event type, e.g. BallotCast or decisions.BallotCast (repeatable)")
    tail.add_argument("--json", action="store_true", help="one CloudEvent JSON object a line")
    tail.add_argument("--count", type=_at_least(1), default=None, help="stop after this many events")
    tail.add_argument("--url", default=None, help="the publishing service (default: this installation's)")
    tail.add_argument("--token", default=None, help="a bearer token (default: $COPRO_TOKEN, else the operator's)")
    fanout = sub.add_parser("fanout", help="the JetStream stream beside the log; rebuild it from the log")
    fanout.add_argument("action", choices=("status", "rebuild"))
    fanout.add_argument("--yes", action="store_true", help="rebuild: delete the stream and publish the log again")
    events = sub.add_parser("events", help="the event catalogue: every event type of every service, with its version")
    events.add_argument("--json", action="store_true", help="as JSON instead of Markdown")
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
    if args.command == "up" and args.cluster:
        from shared.runtime.cli.cluster import cmd_up_cluster

        return cmd_up_cluster(settings, args.replicas)
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
    if args.command == "audit" and args.audit == "keys":
        return cmd_audit_keys(settings)
    if args.command == "audit" and args.audit == "trace":
        return cmd_audit_trace(settings, args.event, args.json)
    if args.command == "audit" and args.audit == "replay":
        return cmd_audit_replay(settings, args.until, args.group, args.html, args.keep)
    if args.command == "audit":
        if (args.file is None) == (not args.live):
            print("copro: give an export file or --live", file=sys.stderr)
            return 2
        return cmd_audit_verify(settings, args.file, args.trust, args.jobs)
    if args.command == "invite":
        return cmd_invite(settings, args.member)
    if args.command == "forget":
        return cmd_forget(settings, args.member, args.consent)
    if args.command == "demo":
        from shared.runtime.demo import run

        return run(settings)
    if args.command == "tail":
        return cmd_tail(settings, args.group, after=args.after, shown=Shown(frozenset(args.service),
                        frozenset(args.types)), as_json=args.json, count=args.count, url=args.url, token=args.token)
    if args.command == "fanout":
        from shared.runtime.cli.fanout import cmd_fanout

        return cmd_fanout(settings, args.action, args.yes)
    if args.command == "events":
        return cmd_events(args.json)
    if args.command == "projections":
        return cmd_projections(settings, args.action, args.names, PROJECTION_MODULES + tuple(args.modules or ()))
    stop_servers(settings)
    stop_cluster(settings.home)
    print("embedded servers stopped")
    return 0

