-- Which hires and referrals a daily run rebuilds in stints and referral_facts (bountyguard/
-- incremental.py): those whose inputs differ from what the run that last built the tables ($base_run_id,
-- as of $base_as_of) saw. A row of stints reads its hire, the hire's job and company, its referral,
-- the persons of its candidate and referrer records and the hire's payouts; a row of referral_facts
-- reads its referral, the referral's job, the persons of its two records and the referral's stint.
-- Inputs differ when
--   a row was loaded since (ingest upserts; no platform row is ever deleted, `forget` only blanks
--   personal fields, which reach these tables only through persons);
--   the as-of date moved past a date that decides what is known (sql/staging/: a referral or hire
--   made, a hire ended);
--   a record's person changed (the identities recorded by the base run and by this one).
-- The sets may hold more than changed; rebuilding an unchanged row rebuilds the same row.

CREATE OR REPLACE TEMP TABLE changed_loaded_runs AS
SELECT run_id FROM runs WHERE NOT list_contains($loaded_runs::VARCHAR[], run_id);

-- (a record whose person changed has a version that began or ended after the base run's generation,
-- up to this run's: sql/schema/runs.sql; one that changed back is rebuilt needlessly)
CREATE OR REPLACE TEMP TABLE changed_person_records AS
WITH
generations AS (
    SELECT (SELECT generation FROM run_identity_generations WHERE run_id = $base_run_id) AS base_generation,
           (SELECT generation FROM run_identity_generations WHERE run_id = $run_id) AS run_generation
)
SELECT DISTINCT v.record_type, v.record_id
FROM record_person_versions v, generations g
WHERE (v.from_generation > g.base_generation AND v.from_generation <= g.run_generation)
   OR (v.to_generation > g.base_generation AND v.to_generation <= g.run_generation)
   -- (cannot happen: bountyguard/incremental.py builds in full without the base run's identities)
   OR g.base_generation IS NULL OR g.run_generation IS NULL;

-- the persons those records had at the base run and have now (versions seen by either run): what
-- the persons' rows (changed_persons.sql) and the chains' names (changed_chains.sql) start from
CREATE OR REPLACE TEMP TABLE moved_record_persons AS
SELECT DISTINCT v.record_type, v.person_id
FROM record_person_versions v
JOIN changed_person_records c USING (record_type, record_id)
JOIN run_identity_generations g
  ON g.run_id IN ($run_id, $base_run_id)
 AND v.from_generation <= g.generation AND (v.to_generation IS NULL OR v.to_generation > g.generation);

CREATE OR REPLACE TEMP TABLE changed_jobs AS
SELECT job_id FROM jobs
WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
   OR company_id IN (SELECT company_id FROM companies
                     WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs));

CREATE OR REPLACE TEMP TABLE changed_referral_rows AS
SELECT referral_id, referrer_id FROM referrals
WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
   -- made after the base's as-of day, up to this one's (asof_referrals)
   OR (referred_at >= $base_as_of::DATE + INTERVAL 1 DAY AND referred_at < $as_of::DATE + INTERVAL 1 DAY)
   OR job_id IN (SELECT job_id FROM changed_jobs)
   OR referrer_id IN (SELECT record_id FROM changed_person_records WHERE record_type = 'referrer')
   OR candidate_id IN (SELECT record_id FROM changed_person_records WHERE record_type = 'candidate');

CREATE OR REPLACE TEMP TABLE changed_payouts AS
SELECT payout_id, hire_id FROM payouts
WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs);

CREATE OR REPLACE TEMP TABLE changed_hires AS
SELECT hire_id FROM hires
WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
   -- agreed, or ended, after the base's as-of day, up to this one's (asof_hires)
   OR (hired_at >= $base_as_of::DATE + INTERVAL 1 DAY AND hired_at < $as_of::DATE + INTERVAL 1 DAY)
   OR (ended_at > $base_as_of::DATE AND ended_at <= $as_of::DATE)
   OR job_id IN (SELECT job_id FROM changed_jobs)
   OR candidate_id IN (SELECT record_id FROM changed_person_records WHERE record_type = 'candidate')
   OR referral_id IN (SELECT referral_id FROM changed_referral_rows)
   OR hire_id IN (SELECT hire_id FROM changed_payouts)
UNION
-- a payout moved to another hire: the hire it left (its stint names it) changes too
SELECT hire_id FROM stints WHERE payout_id IN (SELECT payout_id FROM changed_payouts);

CREATE OR REPLACE TEMP TABLE changed_referrals AS
SELECT referral_id FROM changed_referral_rows
UNION
-- the referrals whose stint changes: the one a changed hire's stint names now, and the one it named
SELECT referral_id FROM hires
WHERE hire_id IN (SELECT hire_id FROM changed_hires) AND referral_id IS NOT NULL
UNION
SELECT referral_id FROM stints
WHERE hire_id IN (SELECT hire_id FROM changed_hires) AND referral_id IS NOT NULL;

-- the persons the kept rows of those referrals and hires name (a view: read now, before they are
-- rebuilt, and again after by sql/incremental/changed_persons.sql); their behaviour rows change too
CREATE OR REPLACE TEMP VIEW persons_of_changed_rows AS
SELECT 'referrer' AS side, referrer_person_id AS person_id FROM referral_facts
WHERE referral_id IN (SELECT referral_id FROM changed_referrals)
UNION
SELECT 'candidate', candidate_person_id FROM referral_facts
WHERE referral_id IN (SELECT referral_id FROM changed_referrals)
UNION
SELECT 'referrer', referrer_person_id FROM stints
WHERE hire_id IN (SELECT hire_id FROM changed_hires) AND referrer_person_id IS NOT NULL
UNION
SELECT 'candidate', candidate_person_id FROM stints
WHERE hire_id IN (SELECT hire_id FROM changed_hires);

CREATE OR REPLACE TEMP TABLE changed_row_persons AS SELECT * FROM persons_of_changed_rows;
