"""Prometheus metrics of the log's followers, served at each service's ``/metrics``.

These are the figures an operator watches to see that nothing is falling
behind, and each request's count and latency (``shared.web.tracing`` records
them with the access line, under the names Litestar's Prometheus middleware
used, which cost a request a tenth of its time).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_HTTP = ["app_name", "method", "path", "status_code"]
HTTP_REQUESTS = Counter("copro_http_requests", "HTTP requests answered", _HTTP)
HTTP_ERRORS = Counter("copro_http_requests_error", "HTTP requests answered with a 5xx status", _HTTP)
HTTP_DURATION = Histogram("copro_http_request_duration_seconds", "Time to answer an HTTP request", _HTTP)

APPENDS = Counter("copro_appends", "Events appended to the log by this process")
PUBLISHED = Counter("copro_published", "Events the relay published to JetStream and saw acknowledged")
PUBLISH_LAG = Gauge("copro_publish_lag_events", "Sealed events not yet acknowledged by JetStream")
CONSUMER_LAG = Gauge("copro_consumer_lag_events", "Messages a service consumer has yet to handle", ["consumer"])
PROJECTION_LAG = Gauge("copro_projection_lag_events", "Sealed events a projection has yet to apply", ["projection"])
