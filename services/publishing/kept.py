"""What a webhook keeps out of the log: its signing secret and its partner's URL.

Every event reaches someone (members, partners, audit exports) and none can be erased, so each of
these lives in a table of its own (``webhook_secrets``, ``webhook_endpoints``), encrypted with
copro's secrets key and bound to its subscription (``shared.access.secrets``), and the
registration event carries only its fingerprint. Registrations recorded while a value still
travelled in the event (the secret encrypted per subscription, the URL in version 1) give it up
once: ``adopt`` moves it to the table.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

import msgspec
from cryptography.exceptions import InvalidTag

from services.publishing.domain.webhooks import webhook_stream
from services.publishing.events import WebhookRegistered, WebhookRemoved
from shared.access.secrets import SecretBox
from shared.domain.contract import type_name
from shared.domain.fingerprints import fingerprint
from shared.eventlog.store import EventStore

log = logging.getLogger(__name__)


class Legacy(msgspec.Struct):
    """A registration recorded while the secret (encrypted per subscription) or the URL (version 1) still
    travelled in the event."""

    secret: str | None = None
    url: str | None = None


class Kept:
    """One kind of value kept per webhook, in ``table``'s column ``column``; opened values are cached."""

    def __init__(self, store: EventStore, box: SecretBox, table: str, column: str, what: str,
                 in_legacy: Callable[[Legacy], str | None],
                 adopted: Callable[[uuid.UUID], Awaitable[object]] | None = None) -> None:
        self.store = store
        self.box = box
        self.what = what
        self._in_legacy = in_legacy
        self._adopted = adopted  # what to do once a legacy registration gave its value up
        self._opened: dict[uuid.UUID, str] = {}
        self._insert = (f"INSERT INTO {table} (subscription_id, {column}, fingerprint) VALUES ($1, $2, $3)"
                        " ON CONFLICT (subscription_id) DO NOTHING")
        self._delete = f"DELETE FROM {table} WHERE subscription_id = $1"
        self._select = f"SELECT {column} FROM {table} WHERE subscription_id = $1"
        self._missing = (f"SELECT c.subscription_id FROM webhook_cursors c WHERE NOT EXISTS"
                         f" (SELECT 1 FROM {table} k WHERE k.subscription_id = c.subscription_id)")

    async def keep(self, subscription_id: uuid.UUID, value: str) -> None:
        await self.store.pool.execute(self._insert, subscription_id, self.box.seal(subscription_id, value),
                                      fingerprint(value))
        self._opened[subscription_id] = value

    async def drop(self, subscription_id: uuid.UUID) -> None:
        await self.store.pool.execute(self._delete, subscription_id)
        self._opened.pop(subscription_id, None)

    async def get(self, subscription_id: uuid.UUID) -> str | None:
        """The value, from the table or, for a registration not adopted yet, from its event."""
        if (known := self._opened.get(subscription_id)) is not None:
            return known
        sealed = await self.store.pool.fetchval(self._select, subscription_id)
        if sealed is None:
            return await self._adopt(subscription_id)
        try:
            self._opened[subscription_id] = self.box.open(subscription_id, bytes(sealed))
        except InvalidTag:  # another installation's secrets key (COPRO_HOME/secrets.key), or an altered row
            log.error("webhook %s: its %s does not open with this secrets key", subscription_id, self.what)
            return None
        return self._opened[subscription_id]

    async def adopt(self) -> int:
        """Move the values of every webhook registered while they travelled in the event; how many."""
        rows = await self.store.pool.fetch(self._missing)
        return sum([await self._adopt(r["subscription_id"]) is not None for r in rows])

    async def _adopt(self, subscription_id: uuid.UUID) -> str | None:
        stored = await self.store.read_stream(webhook_stream(subscription_id))
        if any(e.type == type_name(WebhookRemoved) for e in stored):
            return None  # a removed webhook keeps nothing (its cursor row stays; its value must not come back)
        value = next((self._in_legacy(msgspec.json.decode(e.data, type=Legacy)) for e in stored
                      if e.type == type_name(WebhookRegistered)), None)
        if value is None:
            return None
        await self.keep(subscription_id, value)
        if self._adopted is not None:
            await self._adopted(subscription_id)
        return value
