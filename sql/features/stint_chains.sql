-- A farmed expert's re-registrations, chained: one row per candidate person in a chain, with the
-- chain's first person and the name the chain runs under.
--
-- Between placements a farmed expert signs up again (another mailbox, no phone, no birth date), and
-- identity resolution rightly refuses to tie two records on a name and a city alone: platform-wide, a
-- namesake in the same city is far likelier (in the generated field worlds, of candidates with one
-- name and city hired at one company, 3 pairs were one person and 20 namesakes). Within one referrer's
-- placements the odds turn: one referrer placing a candidate of the same name and city at
-- $chain_min_placements or more companies, one stint after the other (never two jobs at once), with no
-- birth dates that contradict each other, is the scheme repeating, not chance. Two placements are not
-- enough: a referrer who knows a "Thomas Müller" may well know two.
-- Across referrers the rhythm says it instead (colluding referrers take turns, each placing the expert
-- once or twice): stints of candidates with one name, each ended 0 to $days_after_guarantee days after
-- its guarantee end (the bounty kept, the job left), each begun at most $chain_max_gap_days days after
-- the one before it ended, $chain_min_placements or more of them, each at a company new to the
-- sequence, with no birth dates, cities or jobs held at once that contradict each other. Namesakes do
-- not quit in step with each other's guarantee periods (the last stint may still be running: it is
-- the placement whose bounty is at stake).
-- Every chain lies under one name (stint_names holds a stint under each name of its candidate
-- person), so the chains are kept between runs by name: a daily run recomputes only the names whose
-- stints or persons changed (bountyguard/incremental.py, sql/incremental/changed_chains.sql).
-- inputs: person_records, stint_names, stints
-- config: serial_rereferral
-- unique_key: name_key
WITH
named_stints AS (
    -- (a daily run: only the names it recomputes)
    SELECT * FROM stint_names WHERE in_build_scope(name_key)
),
referred_placements AS (
    -- each referred stint once, under its own candidate record's name and city
    SELECT hire_id, referrer_person_id, candidate_person_id, company_id, started_at, ended_at,
           name_key, record_city_key AS city_key, record_birth_date AS birth_date
    FROM named_stints
    WHERE name_key = record_name_key
      AND referrer_person_id IS NOT NULL
      AND record_city_key IS NOT NULL
),
overlapping AS (
    -- a group with two jobs held at once is two people
    SELECT DISTINCT a.referrer_person_id, a.name_key, a.city_key
    FROM referred_placements a
    JOIN referred_placements b
      ON b.referrer_person_id = a.referrer_person_id AND b.name_key = a.name_key AND b.city_key = a.city_key
     AND b.hire_id <> a.hire_id
     AND b.started_at >= a.started_at
     AND (a.ended_at IS NULL OR b.started_at < a.ended_at)
),
referrer_chains AS (
    SELECT referrer_person_id, name_key, city_key,
           arg_min(candidate_person_id, (started_at, hire_id)) AS chain_person_id,
           list(DISTINCT candidate_person_id) AS candidate_person_ids
    FROM referred_placements p
    WHERE NOT EXISTS (SELECT 1 FROM overlapping o
                      WHERE o.referrer_person_id = p.referrer_person_id AND o.name_key = p.name_key
                        AND o.city_key = p.city_key)
    GROUP BY referrer_person_id, name_key, city_key
    HAVING count(DISTINCT candidate_person_id) >= 2
       AND count(*) >= $chain_min_placements
       AND count(DISTINCT company_id) >= $chain_min_placements
       AND count(DISTINCT birth_date) <= 1
),
rhythm_stints AS (
    -- the stints that keep the rhythm, and the running ones (the placement whose bounty is at stake)
    SELECT hire_id, candidate_person_id, company_id, started_at, ended_at, name_key
    FROM named_stints
    WHERE ended_at IS NULL OR days_after_guarantee BETWEEN 0 AND $days_after_guarantee
),
rhythm_sequences AS (
    -- a stint continues the sequence when it began after the previous one ended, and soon after (a
    -- running stint ends its sequence)
    SELECT *,
           sum(CASE WHEN started_at >= previous_end
                     AND started_at <= previous_end + CAST($chain_max_gap_days AS INTEGER) THEN 0 ELSE 1 END)
               OVER (PARTITION BY name_key ORDER BY started_at, hire_id ROWS UNBOUNDED PRECEDING) AS sequence_no
    FROM (SELECT *, lag(ended_at) OVER (PARTITION BY name_key ORDER BY started_at, hire_id) AS previous_end
          FROM rhythm_stints)
),
rhythm_chains AS (
    -- (one stint fewer than placements kept the rhythm: the last may still be running)
    SELECT name_key, sequence_no,
           arg_min(candidate_person_id, (started_at, hire_id)) AS chain_person_id,
           list(DISTINCT candidate_person_id) AS candidate_person_ids
    FROM rhythm_sequences
    GROUP BY name_key, sequence_no
    HAVING count(*) >= $chain_min_placements
       AND count(*) FILTER (WHERE ended_at IS NOT NULL) >= $chain_min_placements - 1
       -- a farmed expert goes to a new company each time (one that knew him would notice); a return
       -- to an earlier employer in the sequence is a namesake's boomerang, not the rhythm
       AND count(DISTINCT company_id) = count(*)
       AND count(DISTINCT candidate_person_id) >= 2
),
rhythm_chain_members AS (
    SELECT name_key, sequence_no, chain_person_id, candidate_person_ids,
           unnest(candidate_person_ids) AS candidate_person_id
    FROM rhythm_chains
),
contradicted_rhythm_chains AS (
    -- the chained persons' records name more than one birth date or city, or two of their stints
    -- (any, not only the rhythm's) ran at once: two people
    SELECT m.name_key, m.sequence_no
    FROM rhythm_chain_members m
    JOIN person_records r ON r.record_type = 'candidate' AND r.person_id = m.candidate_person_id
    GROUP BY m.name_key, m.sequence_no
    HAVING count(DISTINCT r.birth_date) > 1 OR count(DISTINCT r.city_key) > 1
    UNION
    SELECT a.name_key, a.sequence_no
    FROM (SELECT m.name_key, m.sequence_no, s.hire_id, s.started_at, s.ended_at
          FROM rhythm_chain_members m JOIN stints s USING (candidate_person_id)) a
    JOIN (SELECT m.name_key, m.sequence_no, s.hire_id, s.started_at
          FROM rhythm_chain_members m JOIN stints s USING (candidate_person_id)) b
      ON b.name_key = a.name_key AND b.sequence_no = a.sequence_no AND b.hire_id <> a.hire_id
     AND b.started_at >= a.started_at AND (a.ended_at IS NULL OR b.started_at < a.ended_at)
),
consistent_rhythm_chains AS (
    SELECT name_key, chain_person_id, candidate_person_ids
    FROM rhythm_chains c
    WHERE NOT EXISTS (SELECT 1 FROM contradicted_rhythm_chains x
                      WHERE x.name_key = c.name_key AND x.sequence_no = c.sequence_no)
),
chains AS (
    SELECT name_key, chain_person_id, candidate_person_ids FROM referrer_chains
    UNION ALL
    SELECT name_key, chain_person_id, candidate_person_ids FROM consistent_rhythm_chains
)
SELECT DISTINCT name_key, chain_person_id, candidate_person_id
FROM (SELECT name_key, chain_person_id, unnest(candidate_person_ids) AS candidate_person_id FROM chains)
