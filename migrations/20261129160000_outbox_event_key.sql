-- Posts that exist at most once per server whichever process makes them and however often it
-- restarts (a milestone, a weekly recap), keyed by what they are about: a nonce (at most 25
-- characters) is a hash of it and cannot be read back. Rows with a key outlive the outbox
-- retention, so a pruned row never lets the same post be made again.
ALTER TABLE outbox ADD COLUMN event_key text;
CREATE UNIQUE INDEX outbox_event_key ON outbox (guild_id, event_key) WHERE event_key IS NOT NULL;
