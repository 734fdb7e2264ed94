-- Definition versions: every change of a node is kept, numbered, with who and when.
ALTER TABLE nodes ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE node_versions (
    node_id    INTEGER NOT NULL REFERENCES nodes (id),
    version    INTEGER NOT NULL,
    -- The definition as the API writes it (JSON).
    spec       TEXT    NOT NULL,
    changed_by TEXT    NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (node_id, version)
);

-- Which version of its node's definition an instance was made from (unknown before this).
ALTER TABLE instances ADD COLUMN definition_version INTEGER;

-- The nodes there are now are their version 1.
INSERT INTO node_versions (node_id, version, spec, changed_by, changed_at)
SELECT n.id, 1, json_object(
    'name', n.name,
    'workflow', w.name,
    'owner', n.owner,
    'command', n.command,
    'schedule', n.schedule,
    'upstream', (SELECT json_group_array(u.name) FROM
                  (SELECT u.name FROM node_upstreams nu JOIN nodes u ON u.id = nu.upstream_id
                   WHERE nu.node_id = n.id ORDER BY u.name) u),
    'resource_group', n.resource_group,
    'timeout_secs', n.timeout_secs,
    'retries', n.retries,
    'retry_delay_secs', n.retry_delay_secs,
    'paused', json(CASE WHEN n.paused THEN 'true' ELSE 'false' END),
    'depends_on_previous', CASE WHEN n.depends_on_previous LIKE '[%'
                                THEN json(n.depends_on_previous) ELSE n.depends_on_previous END),
    n.owner, n.updated_at
FROM nodes n JOIN workflows w ON w.id = n.workflow_id
WHERE n.deleted_at IS NULL;
