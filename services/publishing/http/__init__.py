"""Publishing's HTTP API: one controller per resource."""

from __future__ import annotations

from services.publishing.http.feeds import FeedController
from services.publishing.http.items import ItemController
from services.publishing.http.stream import EventStreamController
from services.publishing.http.webhooks import WebhookController

CONTROLLERS = [ItemController, FeedController, WebhookController, EventStreamController]
