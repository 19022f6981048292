-- The weekly recap: on unless a server turns it off, posted on `recap_weekday` (ISO: 1 Monday …
-- 7 Sunday) at `recap_hour`:00 in `time_zone` (an IANA name, checked by the bot), about the seven
-- days up to then. The time zone also dates `/leaderboard`'s "this week" and "this month".
ALTER TABLE guild_settings
    ADD COLUMN recap_enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN recap_weekday smallint NOT NULL DEFAULT 1 CHECK (recap_weekday BETWEEN 1 AND 7),
    ADD COLUMN recap_hour smallint NOT NULL DEFAULT 9 CHECK (recap_hour BETWEEN 0 AND 23),
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
