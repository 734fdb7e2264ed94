-- Business calendars: on their holidays, their nodes' instances are dry runs (they succeed at
-- their planned time without running the command).
CREATE TABLE calendars (
    name       TEXT    PRIMARY KEY,
    -- The entries as the API writes them: a JSON array of dates and {from, to} ranges.
    holidays   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The calendar a node follows (none: it always runs its command).
ALTER TABLE nodes ADD COLUMN calendar TEXT;
CREATE INDEX nodes_calendar ON nodes (calendar) WHERE calendar IS NOT NULL AND deleted_at IS NULL;

-- Made on a holiday of its node's calendar: it succeeds without running the command.
ALTER TABLE instances ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
-- The few waiting dry runs, found without reading every waiting instance: the dispatcher asks
-- for them on every tick.
CREATE INDEX instances_dry_run ON instances (state) WHERE dry_run = TRUE;
