-- Milestone posts (a player's Nth platinum, a new trophy level tier, a game completed), each on
-- or off per server in `/settings`; all on unless a server turns one off.
ALTER TABLE guild_settings
    ADD COLUMN milestone_platinum boolean NOT NULL DEFAULT true,
    ADD COLUMN milestone_level boolean NOT NULL DEFAULT true,
    ADD COLUMN milestone_completion boolean NOT NULL DEFAULT true;

-- The player's trophy level as PSN last told it (the modern API's trophy summary), and the
-- points the stored title listings added up to then: the tracker asks PSN again only once the
-- points earned since could reach the next tier. NULL until first read (no tier milestone is
-- announced for the level a player already has then).
ALTER TABLE account_state
    ADD COLUMN trophy_level integer,
    ADD COLUMN trophy_tier integer,
    ADD COLUMN level_progress integer,
    ADD COLUMN level_points bigint;
