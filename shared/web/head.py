"""HEAD on every GET route (RFC 9110 §9.3.2): the same status and headers, no body.

Litestar routes a HEAD request only to handlers declared for HEAD, so a
client checking a feed or a calendar with HEAD got 405. This wraps the app's
handler: a HEAD request runs as the GET it mirrors, the body is dropped, and
a streaming GET (Server-Sent Events) is told the client has gone once its
headers are out.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send


def answer_head_as_get(app: ASGIApp) -> ASGIApp:
    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "HEAD":
            await app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.body":
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        async def gone_once_answered() -> ReceiveMessage:
            if finished:
                return {"type": "http.disconnect"}
            return await receive()

        await app({**scope, "method": "GET"}, gone_once_answered, headers_only)

    return handler
