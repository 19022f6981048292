-- Every process on the database hears at once when a server starts or stops tracking an
-- account (LISTEN trophybot_tracked_accounts), whichever process made the change, instead of
-- at its tracker's next periodic re-read. Only adds and removals: the set of accounts is what
-- the trackers split, and a poll's online-ID update must not wake every process.
CREATE FUNCTION notify_tracked_accounts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('trophybot_tracked_accounts', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER tracked_accounts_changed
    AFTER INSERT OR DELETE OR TRUNCATE ON tracked_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_tracked_accounts_changed();
