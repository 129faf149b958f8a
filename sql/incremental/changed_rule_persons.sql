-- Which candidate persons' flags a daily run computes again for the rules whose flags follow a
-- candidate person's rows (detectors' `flags_follow = "candidate_person"`: duplicate_referral), after
-- the kept rows are rebuilt (bountyguard/incremental.py; the base run's flags of every other person
-- are carried). Such a rule reads, of one candidate person, their referral_facts and stints rows,
-- which records are theirs (person_records), and their records' own applications known by the as-of
-- date with the applied-to job's company. So a person's flags change when
--   one of their rows was rebuilt (the persons the rebuilt rows named before and name now:
--   changed_row_persons, from changed_rows.sql and changed_persons.sql);
--   a record joined or left them (moved_record_persons, from changed_rows.sql);
--   an application of one of their records was loaded since, or the as-of date passed it, or its
--   job or company was loaded since.
-- The set may hold more than changed; computing an unchanged person's flags again gives the same.

CREATE OR REPLACE TEMP TABLE changed_rule_candidates AS
SELECT person_id FROM changed_row_persons WHERE side = 'candidate'
UNION
SELECT person_id FROM moved_record_persons WHERE record_type = 'candidate'
UNION
SELECT coalesce(p.person_id, 'candidate:' || a.candidate_id)
FROM applications a
LEFT JOIN person_records p ON p.record_type = 'candidate' AND p.record_id = a.candidate_id
WHERE a._loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
   -- made after the base's as-of day, up to this one's (asof_applications)
   OR (a.applied_at >= $base_as_of::DATE + INTERVAL 1 DAY AND a.applied_at < $as_of::DATE + INTERVAL 1 DAY)
   OR a.job_id IN (SELECT job_id FROM changed_jobs);
