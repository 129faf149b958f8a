-- The stints, with a farmed expert's re-registrations chained into one candidate person
-- (sql/features/stint_chains.sql says when).
-- For the stint detectors only (job_hopping, serial_rereferral): such candidate persons take the place
-- of the chain's first person (`chained_from` keeps the person identity resolution gave), so persons,
-- exports and the other detectors are untouched.
-- A view: the stints are kept, and so are the chains, so a run writes neither again.
-- inputs: stint_chains, stints
-- materialized: view
WITH
chained_persons AS (
    -- a person in two chains (two referrers, two names) joins the smaller chain id: deterministic
    SELECT candidate_person_id, min(chain_person_id) AS chain_person_id
    FROM stint_chains
    GROUP BY candidate_person_id
)
SELECT s.* REPLACE (coalesce(c.chain_person_id, s.candidate_person_id) AS candidate_person_id),
       CASE WHEN c.chain_person_id IS NOT NULL AND c.chain_person_id <> s.candidate_person_id
            THEN s.candidate_person_id END AS chained_from
FROM stints s
LEFT JOIN chained_persons c USING (candidate_person_id)
