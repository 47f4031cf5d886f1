-- "Checkpoint" means one thing in copro: a signed integrity checkpoint of the log.
-- Where a follower of the log has got to is its cursor.
ALTER TABLE relay_checkpoints RENAME TO relay_cursors;
ALTER TABLE projection_checkpoints RENAME TO projection_cursors;
