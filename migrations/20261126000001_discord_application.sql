-- The Discord application the data belongs to, stored at the first start. A later start with a
-- token of another application refuses to run (unless TROPHYBOT_ALLOW_APPLICATION_CHANGE is
-- set), so a wrong token never acts on, or deletes, this bot's servers and tracking.
CREATE TABLE discord_application (
    id              smallint PRIMARY KEY CHECK (id = 1),
    application_id  bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
