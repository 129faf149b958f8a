-- The forgotten records whose personal data this erasure must blank (bountyguard/privacy.py). After
-- `forget` ($run_id NULL): all of them. After an ingest: only those with a row that run loaded, as a
-- referrer, a candidate or one side of a referral; each of their other rows was blanked when it was
-- loaded or when the record was forgotten, so blanking it again changed nothing but cost a scan of
-- every table (and a cached key of '[forgotten]') on every daily run. Loaded rows are found by
-- _loaded_run_id, which DuckDB skips through by row group: a day's rows sit together.
CREATE OR REPLACE TEMP TABLE forgotten_now AS
SELECT record_type, record_id
FROM forgotten_records
WHERE $run_id IS NULL
   OR (record_type = 'referrer'
       AND (record_id IN (SELECT referrer_id FROM referrers WHERE _loaded_run_id = $run_id)
            OR record_id IN (SELECT referrer_id FROM referrals WHERE _loaded_run_id = $run_id)))
   OR (record_type = 'candidate'
       AND (record_id IN (SELECT candidate_id FROM candidates WHERE _loaded_run_id = $run_id)
            OR record_id IN (SELECT candidate_id FROM referrals WHERE _loaded_run_id = $run_id)));
