-- The whole tracking feature's schema in one migration: later work adds queries, not tables.
-- Discord snowflakes are u64; they are stored as bigint (the same 64 bits, reinterpreted).

-- Each server's defaults for announcements.
CREATE TABLE guild_settings (
    guild_id             bigint PRIMARY KEY,
    announce_channel_id  bigint,
    -- all | gold | platinum | rare (rare uses rare_threshold, an earned-rate percentage).
    filter_kind          text NOT NULL DEFAULT 'all'
        CHECK (filter_kind IN ('all', 'gold', 'platinum', 'rare')),
    rare_threshold       real CHECK (rare_threshold > 0 AND rare_threshold <= 100),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (filter_kind <> 'rare' OR rare_threshold IS NOT NULL)
);

-- Which PSN accounts a server follows, and where each one's announcements go
-- (a null channel means the server's announce channel).
CREATE TABLE tracked_accounts (
    guild_id    bigint NOT NULL,
    account_id  text NOT NULL,
    online_id   text NOT NULL,
    channel_id  bigint,
    added_by    bigint NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, account_id)
);
CREATE INDEX tracked_accounts_account ON tracked_accounts (account_id);

-- Durable per-account tracker state, shared by every server that tracks the account: what was
-- last seen (so restarts neither miss nor repeat trophies), when to look next, and who is
-- looking (a lease, so two bot processes never poll the same account at once).
CREATE TABLE account_state (
    account_id         text PRIMARY KEY,
    online_id          text NOT NULL,
    last_checked_at    timestamptz,
    next_check_at      timestamptz NOT NULL DEFAULT now(),
    -- The newest title lastUpdatedDateTime seen: a cheap "anything new?" test.
    last_title_update  timestamptz,
    -- True once the first full snapshot is stored: before that nothing is announced.
    baseline_done      boolean NOT NULL DEFAULT false,
    lease_owner        text,
    lease_until        timestamptz,
    detected_count     bigint NOT NULL DEFAULT 0,
    consecutive_errors integer NOT NULL DEFAULT 0,
    last_error         text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_state_due ON account_state (next_check_at);

-- Earned snapshot per account and title: the earned trophy ids (a jsonb array) as last seen.
CREATE TABLE account_title_state (
    account_id           text NOT NULL REFERENCES account_state (account_id) ON DELETE CASCADE,
    np_communication_id  text NOT NULL,
    last_updated         timestamptz,
    earned               jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (account_id, np_communication_id)
);

-- Discord users linked to their PSN account; verified_at is set once the user proved
-- ownership by putting verify_code in their PSN profile.
CREATE TABLE linked_users (
    discord_user_id  bigint PRIMARY KEY,
    account_id       text NOT NULL,
    online_id        text NOT NULL,
    verify_code      text,
    verified_at      timestamptz,
    linked_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX linked_users_account ON linked_users (account_id);

-- The PSN client's title definition cache, so it survives restarts.
CREATE TABLE title_definitions (
    np_communication_id  text NOT NULL,
    language             text NOT NULL,
    service              text,
    definition           jsonb NOT NULL,
    fetched_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (np_communication_id, language)
);

-- Per-user title index (a tracked user's whole library), for /rarest and game autocomplete.
CREATE TABLE user_titles (
    account_id           text NOT NULL,
    np_communication_id  text NOT NULL,
    name                 text NOT NULL,
    platform             text NOT NULL,
    progress             smallint NOT NULL DEFAULT 0,
    last_updated         timestamptz,
    title                jsonb NOT NULL,
    PRIMARY KEY (account_id, np_communication_id)
);

-- Announcements waiting for, or done with, delivery to Discord. The nonce (Discord's
-- enforce_nonce, at most 25 characters) makes a resend after a crash a no-op.
CREATE TABLE outbox (
    id             bigserial PRIMARY KEY,
    guild_id       bigint NOT NULL,
    channel_id     bigint NOT NULL,
    account_id     text NOT NULL,
    payload        jsonb NOT NULL,
    nonce          varchar(25) NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    attempted_at   timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    sent_at        timestamptz,
    message_id     bigint,
    failed_reason  text
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND failed_reason IS NULL;

-- The one PSN refresh token, so a restart does not need a fresh NPSSO.
CREATE TABLE psn_credential (
    id             smallint PRIMARY KEY CHECK (id = 1),
    refresh_token  text NOT NULL,
    expires_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
