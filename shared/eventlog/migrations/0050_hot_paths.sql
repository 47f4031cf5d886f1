-- Speed that does not decay with history: every query on a per-event, per-request or per-poll
-- path finds its rows by index (tests/integration/test_hot_queries.py plans each one, custom and
-- generic). A group's aggregates of one kind (its items, meetings, gatherings, proposals) are
-- listed from its own events, in the order they were appended, never by reading the whole log.
CREATE INDEX IF NOT EXISTS events_group_type ON events (group_id, type, seq);
