-- Details the tracker and its commands found they need.

-- Every trophy the tracker detected (after the baseline), for /leaderboard's "this month".
CREATE TABLE detected_trophies (
    account_id           text NOT NULL,
    np_communication_id  text NOT NULL,
    trophy_id            integer NOT NULL,
    -- bronze | silver | gold | platinum
    kind                 text NOT NULL,
    earned_at            timestamptz,
    detected_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, np_communication_id, trophy_id)
);
CREATE INDEX detected_trophies_earned ON detected_trophies (account_id, earned_at);

-- What /track list tells admins about each account.
ALTER TABLE account_state
    -- null: not asked yet; false: presence hidden from the bot's PSN account (polling only).
    ADD COLUMN presence_visible boolean,
    -- ok | private (trophy list hidden) | gone (account deleted or not found)
    ADD COLUMN status text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'private', 'gone')),
    -- The player's totals as of the last poll, for /leaderboard without new requests.
    ADD COLUMN earned_counts jsonb;

-- Which NPSSO the stored refresh token came from (a hash, never the NPSSO): a new NPSSO in the
-- configuration wins over a token from an old one.
ALTER TABLE psn_credential ADD COLUMN npsso_fingerprint text;

-- One problem report per guild and channel, so a gone channel is reported to admins once.
ALTER TABLE outbox ADD COLUMN reported_at timestamptz;
