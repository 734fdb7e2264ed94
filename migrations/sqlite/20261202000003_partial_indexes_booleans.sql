-- The store's SQL is shared with PostgreSQL and writes booleans as TRUE/FALSE; SQLite uses a
-- partial index only when the query repeats its condition as written, so the dispatcher's two
-- indexes say FALSE too.
DROP INDEX instances_due;
DROP INDEX instances_queued;
CREATE INDEX instances_due ON instances (ready_at) WHERE state = 'waiting_time' AND paused = FALSE;
CREATE INDEX instances_queued ON instances (priority, ready_at, id)
    WHERE state = 'waiting_resources' AND paused = FALSE;
