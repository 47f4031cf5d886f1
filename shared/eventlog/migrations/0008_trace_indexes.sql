-- An auditor follows what an event caused, and everything one request or reaction chain wrote:
-- both lookups by index, whatever the size of the log.
CREATE INDEX IF NOT EXISTS events_causation ON events (causation_id) WHERE causation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;
