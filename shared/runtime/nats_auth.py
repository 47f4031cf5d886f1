"""NATS users and what each may do: the embedded server's configuration.

- ``relay``: the only user that may publish to the stream's subjects (``copro.>``); it also
  creates the stream and reads its last message.
- one user per service: its own durable pull consumers only (create, info, next, ack);
  it cannot publish an event.
- ``admin``: everything, for operators and tests; it is not given to any service.

Every user has its own inbox prefix (``_INBOX_<user>``) and may subscribe only there, so no user
reads another's JetStream replies (a pull consumer's messages arrive on its inbox). Partner
accounts for an external NATS follow the same pattern: ``deploy/nats/partners.conf``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from shared.fanout.cloudevents import SUBJECT_ROOT

RELAY_USER = "relay"
ADMIN_USER = "admin"


def inbox_prefix(user: str) -> str:
    """The inbox prefix a user's connection must use (its replies arrive there, and only it reads them)."""
    return f"_INBOX_{user}"


def consumer_subjects(stream: str, durable: str) -> list[str]:
    """What a client publishes to run one durable pull consumer of ``stream``."""
    api = "$JS.API.CONSUMER"
    return [f"{api}.INFO.{stream}.{durable}", f"{api}.CREATE.{stream}.{durable}", f"{api}.CREATE.{stream}.{durable}.>",
            f"{api}.DURABLE.CREATE.{stream}.{durable}", f"{api}.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>"]


def relay_subjects(stream: str) -> list[str]:
    return [f"{SUBJECT_ROOT}.>", "$JS.API.INFO", f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.CREATE.{stream}",
            f"$JS.API.STREAM.UPDATE.{stream}", f"$JS.API.STREAM.MSG.GET.{stream}"]


def _user(name: str, password: str, publish: Sequence[str] | None, deny: Sequence[str] = ()) -> dict[str, object]:
    entry: dict[str, object] = {"user": name, "password": password}
    if publish is not None:
        entry["permissions"] = {
            "publish": {"allow": list(publish), "deny": list(deny)},
            "subscribe": {"allow": [f"{inbox_prefix(name)}.>"]},
        }
    return entry


def authorization(*, stream: str, passwords: Mapping[str, str], durables: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """The ``authorization`` block: every user and what it may publish and subscribe."""
    users = [_user(ADMIN_USER, passwords[ADMIN_USER], None),
             _user(RELAY_USER, passwords[RELAY_USER], relay_subjects(stream))]
    for service, names in durables.items():
        allowed = [subject for durable in names for subject in consumer_subjects(stream, durable)]
        # a service with no reaction still needs a non-empty allow list, or it could publish anything
        users.append(_user(service, passwords[service], allowed or ["_copro_nothing"], deny=[f"{SUBJECT_ROOT}.>"]))
    return {"users": users}


def user_names(services: Sequence[str]) -> list[str]:
    return [ADMIN_USER, RELAY_USER, *services]


def server_config(
    *, port: int, store_dir: str, stream: str, passwords: Mapping[str, str], durables: Mapping[str, Sequence[str]],
) -> str:
    """The embedded server's configuration (JSON is valid NATS configuration)."""
    config = {
        "listen": f"127.0.0.1:{port}",
        "jetstream": {"store_dir": store_dir},
        "authorization": authorization(stream=stream, passwords=passwords, durables=durables),
    }
    return json.dumps(config, indent=2) + "\n"
