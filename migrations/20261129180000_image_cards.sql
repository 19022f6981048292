-- Image cards. `outbox.card` is what an announcement's card shows (a `cards::CardSpec`), drawn by
-- the deliverer just before it posts: the PNG itself is never stored. `cards_enabled` is the
-- server's `/settings cards` switch, on unless turned off.
ALTER TABLE outbox ADD COLUMN card jsonb;
ALTER TABLE guild_settings ADD COLUMN cards_enabled boolean NOT NULL DEFAULT true;
