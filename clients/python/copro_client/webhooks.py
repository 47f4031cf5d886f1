"""Verifying a webhook delivery from copro (Standard Webhooks) and reading the event it carries."""

from __future__ import annotations

from collections.abc import Mapping

from standardwebhooks import Webhook, WebhookVerificationError

from copro_client.events import Received, from_structured

__all__ = ["WebhookVerificationError", "verify_webhook"]


def verify_webhook(secret: str, body: bytes, headers: Mapping[str, str]) -> Received:
    """The delivered event, once its signature (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
    checks out with the ``whsec_...`` secret shown when the webhook was registered; raises
    ``WebhookVerificationError`` for a forged, altered or stale (over 5 minutes old) delivery."""
    lowered = {k.lower(): v for k, v in headers.items()}
    Webhook(secret).verify(body, lowered)
    return from_structured(body)
