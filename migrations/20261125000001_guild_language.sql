-- The language a server wants trophy and game names in (`/settings language`); NULL means the
-- bot's default (PSN_LANGUAGE), so changing that default moves every server that chose none.
ALTER TABLE guild_settings ADD COLUMN language text;
