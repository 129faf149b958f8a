-- One run's flags of a file written while `flags` was a table of copies (flags_copies), as the
-- versions of generation $generation (bountyguard/flag_versions.py version_copies, run by run in
-- run order, in the caller's transaction): the current versions the run did not hold, exactly, end;
-- its flags with no equal current version begin. Flag ids are kept as the copies hold them.

CREATE OR REPLACE TEMP TABLE run_copies AS
SELECT flag_id, pattern, entity_type, entity_id, person_id, score, severity, evidence
FROM flags_copies
WHERE run_id = $run_id;

-- the copies equal to a current version: their versions go on
CREATE OR REPLACE TEMP TABLE unchanged_versions AS
SELECT v.rowid AS version_row, c.rowid AS copy_row
FROM flag_versions v
JOIN run_copies c
  ON c.flag_id = v.flag_id AND c.pattern = v.pattern AND c.entity_type = v.entity_type
 AND c.entity_id = v.entity_id AND c.person_id IS NOT DISTINCT FROM v.person_id AND c.score = v.score
 AND c.severity = v.severity AND c.evidence = v.evidence
WHERE v.to_generation IS NULL;

UPDATE flag_versions SET to_generation = $generation
WHERE to_generation IS NULL AND rowid NOT IN (SELECT version_row FROM unchanged_versions);

INSERT INTO flag_versions
SELECT c.*, $generation, NULL
FROM run_copies c
WHERE c.rowid NOT IN (SELECT copy_row FROM unchanged_versions);

DROP TABLE run_copies;
DROP TABLE unchanged_versions;
