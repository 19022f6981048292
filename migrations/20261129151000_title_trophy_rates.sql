-- Each title's trophies' grade and earned rate as PSN last gave them with someone's earned state
-- (the same for every player), so /rarest ranks a tracked player's stored library without asking
-- PSN. Saved as the PSN client fetches earned states, like title_definitions.
CREATE TABLE title_trophy_rates (
    np_communication_id  text NOT NULL,
    trophy_id            integer NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('platinum', 'gold', 'silver', 'bronze')),
    -- Per cent of players who earned it; PSN's rarity tier (0 ultra rare … 3 common).
    earned_rate          double precision,
    rarity               smallint,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (np_communication_id, trophy_id)
);

-- When each earned trophy of account_title_state.earned was earned ({"id": timestamp}; trophies
-- earned offline without a date are absent), so /rarest ranks and dates them from the database.
-- Null for rows written before this column.
ALTER TABLE account_title_state ADD COLUMN earned_at jsonb;
