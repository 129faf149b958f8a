-- Which chained candidate persons' flags a daily run computes again for the rules whose flags follow
-- a chained candidate person's stints (detectors' `flags_follow = "chained_candidate"`: job_hopping;
-- and "chained_placements", below: serial_rereferral),
-- after stints and the chains are rebuilt (bountyguard/incremental.py; the base run's flags of every
-- other person stay current). Such a flag reads the rows of chained_stints under its candidate person
-- (a chain's members' stints under the chain's first person) that began within the rule's window
-- before the as-of date. So a chained candidate person's flag changes when
--   a stint of one of its members was rebuilt (changed_row_persons: the candidate persons the rebuilt
--   rows named before and name now);
--   a candidate person joined a chain, left one or moved to another: the chain person it had at the
--   base run (chain_persons_before, kept by changed_chains.sql before the chains were rebuilt) and has
--   now differ;
--   one of its stints left the window as the as-of date moved ($windows: every `window_months`
--   setting of the configuration, so each such rule's window is among them);
-- each member under the chain person it had at the base run and has now, and itself (a person out of
-- every chain is its own candidate person).
-- The set may hold more than changed; computing an unchanged person's flags again gives the same.

CREATE OR REPLACE TEMP TABLE chain_persons_after AS SELECT * FROM chain_persons;

CREATE OR REPLACE TEMP TABLE changed_chained_candidates AS
WITH
moved_members AS (
    (SELECT * FROM chain_persons_before EXCEPT SELECT * FROM chain_persons_after)
    UNION
    (SELECT * FROM chain_persons_after EXCEPT SELECT * FROM chain_persons_before)
),
windows AS (
    SELECT unnest($windows::INTEGER[]) AS window_months
),
changed_members AS (
    SELECT candidate_person_id FROM moved_members
    UNION
    SELECT person_id FROM changed_row_persons WHERE side = 'candidate'
    UNION
    -- as job_hopping.sql draws its window: begun on or after the as-of date less the months
    SELECT s.candidate_person_id
    FROM stints s, windows w
    WHERE s.started_at >= $base_as_of::DATE - to_months(w.window_months)
      AND s.started_at < $as_of::DATE - to_months(w.window_months)
)
SELECT candidate_person_id AS person_id FROM changed_members
UNION
SELECT b.chain_person_id FROM changed_members JOIN chain_persons_before b USING (candidate_person_id)
UNION
SELECT a.chain_person_id FROM changed_members JOIN chain_persons_after a USING (candidate_person_id);

-- serial_rereferral flags a chained candidate person on their referred stints, and each referrer
-- person who placed such a candidate, on that referrer's placements of every candidate so flagged
-- (detectors' `flags_follow = "chained_placements"`). A referrer's flag changes when one of the
-- candidates they placed changed (the referrers of the stints under the changed chained candidates
-- now; a stint that moved to another referrer was rebuilt) or one of their own stints was rebuilt
-- (changed_row_persons, both the referrer persons before and after). The rule reads, of the persons
-- here, every stint of the candidates among them and of the candidates the referrers among them placed.
CREATE OR REPLACE TEMP TABLE changed_placement_persons AS
SELECT person_id FROM changed_chained_candidates
UNION
-- (as chained_stints places a stint: under its candidate person's chain person, or the person)
SELECT s.referrer_person_id
FROM stints s LEFT JOIN chain_persons_after a USING (candidate_person_id)
WHERE coalesce(a.chain_person_id, s.candidate_person_id) IN (SELECT person_id FROM changed_chained_candidates)
  AND s.referrer_person_id IS NOT NULL
UNION
SELECT person_id FROM changed_row_persons WHERE side = 'referrer';
