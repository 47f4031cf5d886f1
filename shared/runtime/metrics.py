"""Prometheus metrics of the log's followers, served at each service's ``/metrics``.

HTTP latency histograms come from Litestar's Prometheus middleware; these are
the figures an operator watches to see that nothing is falling behind.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

APPENDS = Counter("copro_appends", "Events appended to the log by this process")
PUBLISHED = Counter("copro_published", "Events the relay published to JetStream and saw acknowledged")
PUBLISH_LAG = Gauge("copro_publish_lag_events", "Sealed events not yet acknowledged by JetStream")
CONSUMER_LAG = Gauge("copro_consumer_lag_events", "Messages a service consumer has yet to handle", ["consumer"])
PROJECTION_LAG = Gauge("copro_projection_lag_events", "Sealed events a projection has yet to apply", ["projection"])
