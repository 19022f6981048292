-- What each process reports with its heartbeat about its PSN budgets: into how many parts it
-- divides them now, and what it spent of the current window per credential (a JSON object,
-- label → requests). A process joining others sends to PSN once every other one divides by
-- the new count and has spent no more than its new part (see docs/architecture.md).
ALTER TABLE process_heartbeats
    ADD COLUMN budget_parts integer NOT NULL DEFAULT 0,
    ADD COLUMN psn_spent jsonb NOT NULL DEFAULT '{}'::jsonb;
