-- Each record its own person: enough for the decision step to hold payouts when identity resolution
-- could not run (a failed or not-clean run). No IBAN key: nothing is paid from such a run.
CREATE OR REPLACE TABLE person_records AS
SELECT 'referrer' AS record_type, referrer_id AS record_id, 'referrer:' || referrer_id AS person_id,
       NULL::VARCHAR AS iban_key, NULL::VARCHAR AS iban_masked
FROM referrers
UNION ALL
SELECT 'candidate', candidate_id, 'candidate:' || candidate_id, NULL, NULL
FROM candidates;

-- these persons are not a resolution's: the next one clusters every record again
DELETE FROM identity_persons_state;
