-- Indexes for the hot queries on the tables that grow with use (the outbox, detected trophies,
-- the title index), so none of them reads a whole table; tests/store/indexes.rs checks each
-- with EXPLAIN on realistic row counts. The other hot queries use primary keys or indexes
-- made earlier (see that test's list).

-- Pruning delivered rows past OUTBOX_RETENTION, oldest first.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
-- Pruning rows given up on past OUTBOX_RETENTION.
CREATE INDEX outbox_failed ON outbox (created_at) WHERE failed_reason IS NOT NULL;
-- claim_channel_report: the channel's last delivery (max(sent_at)), and its failed rows,
-- reported or not.
CREATE INDEX outbox_channel_sent ON outbox (channel_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_channel_failed ON outbox (channel_id, guild_id)
    WHERE failed_reason IS NOT NULL;
-- forget_guild: the guild's undelivered rows.
CREATE INDEX outbox_guild_unsent ON outbox (guild_id) WHERE sent_at IS NULL;

-- /leaderboard's period counts: an account's trophies earned (or, without an earned time,
-- detected) since the period's start.
CREATE INDEX detected_trophies_period
    ON detected_trophies (account_id, (COALESCE(earned_at, detected_at)));
DROP INDEX detected_trophies_earned;
