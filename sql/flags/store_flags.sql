-- Store one detector's flags of a run (the temp table detected_flags: FLAG_COLUMNS) as generation
-- $generation of flag_versions (sql/schema/runs.sql): the current versions of the pattern that the
-- detector did not make again, exactly, end here; the flags with no equal current version begin.
-- A rule computed for part of the run only ($scoped: the keys in the temp table flag_scope, matched
-- to the flags' $scope_column; detectors' `flags_follow`) changes only the flags of those keys: the
-- others stay current, which is what carrying the base run's flags was (a flag without the scope's
-- key is never carried: it ends, and the rule makes it again if it still holds).
-- (bountyguard/flag_versions.py store runs this in one transaction, then checks the generation holds each
-- flag_id once.)

CREATE OR REPLACE TEMP TABLE detected_versions AS
SELECT 'F' || left(md5($pattern || '|' || entity_type || '|' || entity_id), 16) AS flag_id,
       $pattern AS pattern, entity_type, entity_id, person_id, score, severity, evidence
FROM detected_flags;

-- the current versions this run decides on: all of the pattern's, or the scope's (and those without
-- the scope's key); a scoped rule reads only those (at 10M, early_exit's 208,000 flags are current).
-- Two branches, not `NOT $scoped OR ...`: an OR over a subquery is planned as a join of every row
-- (as in identity/exact_links.sql)
CREATE OR REPLACE TEMP TABLE decided_current AS
SELECT v.rowid AS version_row, v.flag_id, v.entity_type, v.entity_id, v.person_id, v.score, v.severity, v.evidence
FROM flag_versions v
WHERE v.to_generation IS NULL AND v.pattern = $pattern AND NOT $scoped
UNION ALL
SELECT v.rowid AS version_row, v.flag_id, v.entity_type, v.entity_id, v.person_id, v.score, v.severity, v.evidence
FROM flag_versions v
WHERE v.to_generation IS NULL AND v.pattern = $pattern AND $scoped
  AND (CASE $scope_column WHEN 'person_id' THEN v.person_id ELSE v.entity_id END IS NULL
       OR CASE $scope_column WHEN 'person_id' THEN v.person_id ELSE v.entity_id END IN (SELECT key FROM flag_scope));

-- the flags made again exactly as they are: their versions go on
CREATE OR REPLACE TEMP TABLE unchanged_versions AS
SELECT c.version_row, d.rowid AS detected_row
FROM decided_current c
JOIN detected_versions d
  ON d.flag_id = c.flag_id AND d.entity_type = c.entity_type AND d.entity_id = c.entity_id
 AND d.person_id IS NOT DISTINCT FROM c.person_id AND d.score = c.score
 AND d.severity = c.severity AND d.evidence = c.evidence;

UPDATE flag_versions SET to_generation = $generation
WHERE rowid IN (SELECT version_row FROM decided_current)
  AND rowid NOT IN (SELECT version_row FROM unchanged_versions);

INSERT INTO flag_versions
SELECT d.*, $generation, NULL
FROM detected_versions d
WHERE d.rowid NOT IN (SELECT detected_row FROM unchanged_versions);

DROP TABLE detected_versions;
DROP TABLE decided_current;
DROP TABLE unchanged_versions;
