-- What the outbox deliverer needs: a lease on the rows it works on (so several deliverers never
-- post the same row at once), a time before which a row is not retried (backoff after 429/5xx),
-- and when the announced trophies were earned (for the earned-to-posted latency metric).
ALTER TABLE outbox
    -- Which deliverer holds the row, until when; an expired lease may be taken by another.
    ADD COLUMN claimed_by      text,
    ADD COLUMN claimed_until   timestamptz,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The earliest earned time of the trophies announced; null when PSN gave none.
    ADD COLUMN earned_at       timestamptz,
    -- Why the last attempt did not post (a 429, a 5xx, a network error), for operators.
    ADD COLUMN last_error      text;

-- Due rows in order; sent and failed rows are history and stay out of the index.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_reason IS NULL;
-- A channel's pending rows, for keeping a channel's announcements in order and failing them
-- together when the channel is gone.
CREATE INDEX outbox_channel_pending ON outbox (channel_id, id)
    WHERE sent_at IS NULL AND failed_reason IS NULL;
