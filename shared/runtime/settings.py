"""Typed settings read from the environment.

Everything copro needs to know about where it runs comes from ``COPRO_*``
variables, so the same code serves the embedded single-machine set-up and a
managed PostgreSQL with a NATS cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

SERVICE_NAMES = ("decisions", "scheduling", "publishing")
DEFAULT_PORTS = {"decisions": 8101, "scheduling": 8102, "publishing": 8103}
WEB_PORT = 8100
LOG_PORT = 8104


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Where copro keeps its data and how it reaches its servers."""

    home: Path
    database_url: str | None = None
    """The services' connection: the app role (external PostgreSQL); None for the embedded server."""
    database_owner_url: str | None = None
    """The owner role, for migrations; None: migrations use ``database_url`` (one role, not least privilege)."""
    nats_url: str | None = None
    nats_credentials: Path | None = None
    """A JSON file of NATS users and passwords: a service logs in as its own name, the relay as ``relay``."""
    host: str = "127.0.0.1"
    ports: dict[str, int] = msgspec.field(default_factory=lambda: dict(DEFAULT_PORTS))
    embedded_pg_port: int = 54329
    embedded_nats_port: int = 42229
    nats_stream: str = "COPRO"
    nats_replicas: int = 1
    cors_origins: tuple[str, ...] = ()
    webhook_retry_base: float = 1.0
    webhook_give_up_after: float = 3 * 86400.0
    webhook_private_targets: bool = False
    """Whether webhooks may go to loopback, private and link-local addresses (``shared/web/outbound.py``)."""
    max_connections: int = 1000
    """Concurrent connections one service process serves; past that it answers 503 at once."""
    nats_tls_ca: Path | None = None
    """A CA file to verify the NATS servers with (``tls://`` URLs use the system's CAs without it)."""
    nats_tls_cert: Path | None = None
    nats_tls_key: Path | None = None
    """A client certificate and key, for NATS servers that verify clients (mutual TLS)."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    """A certificate and key for the services' own HTTP: with both, they serve HTTPS."""
    web_port: int = WEB_PORT
    web_url: str | None = None
    """Where people reach the web app (sign-in links point there); by default http://host:web_port."""
    time_zone: str = "Europe/London"
    """The IANA time zone the web app shows times in, for groups that do not name their own."""
    log_port: int = LOG_PORT
    """The log process's health and metrics (``copro serve log``: the sealer, the relay, the signer)."""
    log_roles_standby: float = 0.0
    """Seconds the sealer's and relay's lock must stay free before this process takes it: 0 leads at once;
    under ``copro up`` the services stand by for the log process, which leads."""

    @property
    def operator_token_path(self) -> Path:
        return self.home / "operator-token"

    @property
    def web_base(self) -> str:
        return (self.web_url or f"http://{self.host}:{self.web_port}").rstrip("/")

    def service_url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


def _path(name: str) -> Path | None:
    raw = os.environ.get(name)
    return Path(raw).expanduser().absolute() if raw else None


def load_settings() -> Settings:
    """Read the settings from ``COPRO_*`` environment variables."""
    home = Path(os.environ.get("COPRO_HOME") or ".copro").expanduser().absolute()
    ports = {name: _int(f"COPRO_{name.upper()}_PORT", port) for name, port in DEFAULT_PORTS.items()}
    cors = tuple(o.strip() for o in os.environ.get("COPRO_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        home=home,
        database_url=os.environ.get("COPRO_DATABASE_URL") or None,
        database_owner_url=os.environ.get("COPRO_DATABASE_OWNER_URL") or None,
        nats_url=os.environ.get("COPRO_NATS_URL") or None,
        nats_credentials=Path(os.environ["COPRO_NATS_CREDENTIALS"]).expanduser().absolute()
        if os.environ.get("COPRO_NATS_CREDENTIALS") else None,
        host=os.environ.get("COPRO_HOST", "127.0.0.1"),
        ports=ports,
        embedded_pg_port=_int("COPRO_EMBEDDED_PG_PORT", 54329),
        embedded_nats_port=_int("COPRO_EMBEDDED_NATS_PORT", 42229),
        nats_stream=os.environ.get("COPRO_NATS_STREAM", "COPRO"),
        nats_replicas=_int("COPRO_NATS_REPLICAS", 1),
        cors_origins=cors,
        webhook_retry_base=float(os.environ.get("COPRO_WEBHOOK_RETRY_BASE") or 1.0),
        webhook_give_up_after=float(os.environ.get("COPRO_WEBHOOK_GIVE_UP_AFTER") or 3 * 86400.0),
        webhook_private_targets=os.environ.get("COPRO_WEBHOOK_PRIVATE_TARGETS", "").lower() in ("1", "true", "yes"),
        max_connections=_int("COPRO_MAX_CONNECTIONS", 1000),
        nats_tls_ca=_path("COPRO_NATS_TLS_CA"),
        nats_tls_cert=_path("COPRO_NATS_TLS_CERT"),
        nats_tls_key=_path("COPRO_NATS_TLS_KEY"),
        tls_cert=_path("COPRO_TLS_CERT"),
        tls_key=_path("COPRO_TLS_KEY"),
        web_port=_int("COPRO_WEB_PORT", WEB_PORT),
        log_port=_int("COPRO_LOG_PORT", LOG_PORT),
        log_roles_standby=float(os.environ.get("COPRO_LOG_ROLES_STANDBY") or 0.0),
        web_url=os.environ.get("COPRO_WEB_URL") or None,
        time_zone=os.environ.get("COPRO_TIME_ZONE") or "Europe/London",
    )
