-- Several bot processes on one database: who holds which Discord shard, and which processes are
-- alive (for fair shares of shards, tracked accounts and PSN budgets).

-- A shard's lease: the holder connects the shard only while `expires_at` is ahead; an expired
-- lease may be taken by any process. `total` is the shard count the holder runs with.
CREATE TABLE shard_leases (
    shard_id   integer PRIMARY KEY,
    total      integer NOT NULL,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- One row per running process (its instance name), renewed with its leases; a process whose
-- heartbeat expired counts as gone.
CREATE TABLE process_heartbeats (
    instance   text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
