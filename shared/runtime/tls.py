"""TLS to NATS, switched on by configuration.

A ``tls://`` NATS URL (or a server that requires TLS) is enough with a
certificate from a public CA; ``COPRO_NATS_TLS_CA`` names a private CA, and
``COPRO_NATS_TLS_CERT`` with ``COPRO_NATS_TLS_KEY`` a client certificate
for servers that verify clients. PostgreSQL takes its TLS settings in the
database URL (``?sslmode=verify-full&sslrootcert=...``), the services' own
HTTPS from ``COPRO_TLS_CERT`` and ``COPRO_TLS_KEY``.
"""

from __future__ import annotations

import ssl

from shared.runtime.settings import Settings


def nats_tls(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for NATS connections, or None to let the URL decide (``tls://``: system CAs)."""
    if settings.nats_tls_ca is None and settings.nats_tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                         cafile=str(settings.nats_tls_ca) if settings.nats_tls_ca else None)
    if settings.nats_tls_cert is not None:
        if settings.nats_tls_key is None:
            raise RuntimeError("COPRO_NATS_TLS_CERT needs COPRO_NATS_TLS_KEY")
        context.load_cert_chain(str(settings.nats_tls_cert), str(settings.nats_tls_key))
    return context
