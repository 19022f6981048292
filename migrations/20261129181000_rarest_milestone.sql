-- The "rarest trophy they have ever earned" milestone, on or off per server in `/settings`
-- (`rarest_milestones`), on unless a server turns it off, like the other milestone switches.
ALTER TABLE guild_settings ADD COLUMN milestone_rarest boolean NOT NULL DEFAULT true;
