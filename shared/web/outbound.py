"""Where copro's own requests go (webhook deliveries): to public addresses only, unless the operator allows
private ones.

A facilitator registers the URL, and copro's delivery job connects to it from inside the operator's
network: a URL naming a loopback, private or link-local address (the database, another service, a
cloud's metadata endpoint at 169.254.169.254) would make copro send signed requests there and report
back what answered. So a URL is checked when it is registered (its shape, and its host when that is an
address, in any spelling: ``127.1``, ``0x7f000001``, ``[::ffff:127.0.0.1]``), and again at every
connection, after the name is resolved, because a name may resolve elsewhere tomorrow (DNS rebinding):
the connection goes to the address that was checked. ``COPRO_WEBHOOK_PRIVATE_TARGETS=1`` allows private
targets (a partner's receiver on the same network, local development, the tests' receivers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]  # httpcore's
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOW_PRIVATE = "COPRO_WEBHOOK_PRIVATE_TARGETS"


def public(address: Address) -> bool:
    """Whether an address is on the public internet, seeing through IPv4 carried inside IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return public(address.ipv4_mapped)
        if address in _NAT64:
            return public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not address.is_multicast


def _literal(host: str) -> Address | None:
    """The address a host names itself, in any spelling the resolver takes (``127.1``, ``2130706433``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def url_refusal(url: str, private_allowed: bool) -> str | None:
    """Why a webhook URL cannot be registered, or None when it can."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return "a webhook URL has no spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "a webhook URL starts with http:// or https://"
    if parts.username is not None or parts.password is not None:
        return "a webhook URL carries no user name or password (a token may go in its path or query)"
    host = parts.hostname
    if not host:
        return "a webhook URL names a host"
    if not host.isascii():
        return "a webhook URL's host is written in ASCII (an international name as punycode, xn--...)"
    try:
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        return "a webhook URL's port is from 1 to 65535"
    address = _literal(host)
    if address is not None and not private_allowed and not public(address):
        return (f"a webhook goes to a public address, and {host} is not one (loopback, private, link-local or "
                f"reserved); the operator may allow private targets with {ALLOW_PRIVATE}=1")
    return None


class PublicOnly(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses: resolves the name itself, checks every address it resolves to, and
    connects to the checked one."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's
                          local_address: str | None = None,
                          socket_options: Iterable[SocketOption] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        if not addresses or not all(public(a) for a in addresses):
            raise httpcore.ConnectError(f"refused: {host} is not a public address ({ALLOW_PRIVATE} is off)")
        return await self.inner.connect_tcp(str(addresses[0]), port, timeout=timeout, local_address=local_address,
                                            socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's
                                  socket_options: Iterable[SocketOption] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("refused: webhooks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def delivery_transport(private_allowed: bool) -> httpx.AsyncHTTPTransport:
    """The transport deliveries use: straight to the partner (no proxy from the environment), public addresses
    only unless private targets are allowed."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    if not private_allowed:
        limits = httpx.Limits()  # httpx's defaults
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnly())
    return transport
