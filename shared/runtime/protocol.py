"""uvicorn's HTTP protocol with a deadline for request headers, so slow or idle clients cannot hold sockets.

uvicorn closes an idle keep-alive connection between requests, but a client
that connects and sends nothing, or sends its headers a byte at a time
(slowloris), keeps its socket for as long as it likes. This protocol gives
every request HEADER_TIMEOUT seconds from the connection (or from the first
byte of the next request) to the end of its headers, then closes the
connection. Bodies and responses are not limited here: a long
Server-Sent Events stream is a response.
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = float(os.environ.get("COPRO_HEADER_TIMEOUT") or 10.0)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    _header_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
