"""The NATS connection a service keeps open, reconnecting for ever.

A service must start and answer even while NATS is down (the log in
PostgreSQL is the source of truth); ``/readyz`` reports the NATS link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl

import nats
from nats.aio.client import Client

from shared.runtime.logs import Condition

log = logging.getLogger(__name__)


def _masked(url: str) -> str:
    """The URL without any password in it, for logs."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


class Bus:
    """One NATS connection. With ``user`` it logs in as that user, with the user's own inbox prefix
    (``_INBOX_<user>``: the only inbox its permissions let it read)."""

    def __init__(self, url: str, name: str, user: str | None = None, password: str | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.url = url
        self.name = name
        self.user = user
        self.password = password
        self.tls = tls
        self.client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        condition = Condition(log, f"{self.name} to NATS")

        async def lost() -> None:
            condition.failing("connection lost; reconnecting")

        async def regained() -> None:
            condition.working()

        async def error(exc: Exception) -> None:  # one line per state, not nats-py's line per attempt
            condition.failing("connection lost; reconnecting", exc)

        while True:
            try:
                login: dict[str, str] = {}
                if self.user is not None:
                    login = {"user": self.user, "password": self.password or "", "inbox_prefix": f"_INBOX_{self.user}"}
                self.client = await nats.connect(
                    self.url.split(","), name=self.name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                    connect_timeout=2, allow_reconnect=True, disconnected_cb=lost, reconnected_cb=regained,
                    error_cb=error, **login, **({"tls": self.tls} if self.tls else {}),
                )
                condition.working()
                self.connected.set()
                return
            except Exception as exc:  # nats-py raises several unrelated types here
                who = f" as {self.user}" if self.user else ""
                condition.failing(f"NATS at {_masked(self.url)} is not reachable yet{who}", exc)
                await asyncio.sleep(1.0)

    @property
    def is_connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.client is not None and not self.client.is_closed:
            with contextlib.suppress(Exception):
                await self.client.close()
