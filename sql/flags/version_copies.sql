-- One run's flags of a file written while `flags` was a table of copies (flags_copies), as the
-- versions of generation $generation (bountyguard/flag_versions.py version_copies, run by run in
-- run order, in the caller's transaction): the current versions the run did not hold, exactly, end;
-- its flags with no equal current version begin. Flag ids are kept as the copies hold them.

CREATE OR REPLACE TEMP TABLE run_copies AS
SELECT flag_id, pattern, entity_type, entity_id, person_id, score, severity, evidence
FROM flags_copies
WHERE run_id = $run_id;

UPDATE flag_versions v SET to_generation = $generation
WHERE v.to_generation IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM run_copies c
    WHERE c.flag_id = v.flag_id AND c.pattern = v.pattern AND c.entity_type = v.entity_type
      AND c.entity_id = v.entity_id AND c.person_id IS NOT DISTINCT FROM v.person_id AND c.score = v.score
      AND c.severity = v.severity AND c.evidence = v.evidence);

INSERT INTO flag_versions
SELECT c.*, $generation, NULL
FROM run_copies c
WHERE NOT EXISTS (
    SELECT 1 FROM flag_versions v
    WHERE v.to_generation IS NULL
      AND c.flag_id = v.flag_id AND c.pattern = v.pattern AND c.entity_type = v.entity_type
      AND c.entity_id = v.entity_id AND c.person_id IS NOT DISTINCT FROM v.person_id AND c.score = v.score
      AND c.severity = v.severity AND c.evidence = v.evidence);

DROP TABLE run_copies;
