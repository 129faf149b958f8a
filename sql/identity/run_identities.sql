-- A run's persons (the temp view identities_to_record: record_type, record_id, person_id; normally
-- person_records), recorded as the next generation of record_person_versions (sql/schema/runs.sql):
-- the versions of records whose person changed, or which are gone, end here; the records with no
-- current version of that person get one. A daily run writes the day's changes, not every record.
-- A run that records its persons again (its detect step run again) gets a new generation.
-- (bountyguard/pipeline.py runs this in one transaction.)
DELETE FROM run_identity_generations WHERE run_id = $run_id;

CREATE OR REPLACE TEMP TABLE identity_generation AS
SELECT nextval('identity_generation_seq') AS generation;

UPDATE record_person_versions v SET to_generation = g.generation
FROM identity_generation g
WHERE v.to_generation IS NULL
  AND NOT EXISTS (SELECT 1 FROM identities_to_record p
                  WHERE p.record_type = v.record_type AND p.record_id = v.record_id AND p.person_id = v.person_id);

INSERT INTO record_person_versions
SELECT p.record_type, p.record_id, p.person_id, g.generation, NULL
FROM identities_to_record p, identity_generation g
WHERE NOT EXISTS (SELECT 1 FROM record_person_versions v
                  WHERE v.to_generation IS NULL
                    AND v.record_type = p.record_type AND v.record_id = p.record_id AND v.person_id = p.person_id);

INSERT INTO run_identity_generations SELECT $run_id, generation FROM identity_generation;

DROP TABLE identity_generation;
