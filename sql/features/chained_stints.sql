-- The stints, with a farmed expert's re-registrations chained into one candidate person.
--
-- Between placements a farmed expert signs up again (another mailbox, no phone, no birth date), and
-- identity resolution rightly refuses to tie two records on a name and a city alone: platform-wide, a
-- namesake in the same city is far likelier (in the generated field worlds, of candidates with one
-- name and city hired at one company, 3 pairs were one person and 20 namesakes). Within one referrer's
-- placements the odds turn: one referrer placing a candidate of the same name and city at
-- $chain_min_placements or more companies, one stint after the other (never two jobs at once), with no
-- birth dates that contradict each other, is the scheme repeating, not chance. Two placements are not
-- enough: a referrer who knows a "Thomas Müller" may well know two.
-- For the stint detectors only (job_hopping, serial_rereferral): such candidate persons take the place
-- of the chain's first person (`chained_from` keeps the person identity resolution gave), so persons,
-- exports and the other detectors are untouched.
-- inputs: person_records, stints
-- config: serial_rereferral
WITH
referred_placements AS (
    -- every referred stint with the candidate record's name and city (a person can hold several names)
    SELECT s.hire_id, s.referrer_person_id, s.candidate_person_id, s.company_id, s.started_at, s.ended_at,
           c.name_key, c.city_key, c.birth_date
    FROM stints s
    JOIN person_records c ON c.record_type = 'candidate' AND c.record_id = s.candidate_id
    WHERE s.referrer_person_id IS NOT NULL
      AND c.name_key IS NOT NULL
      AND c.city_key IS NOT NULL
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
chains AS (
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
chained_persons AS (
    -- a person in two chains (two referrers, two names) joins the smaller chain id: deterministic
    SELECT candidate_person_id, min(chain_person_id) AS chain_person_id
    FROM (SELECT unnest(candidate_person_ids) AS candidate_person_id, chain_person_id FROM chains)
    GROUP BY candidate_person_id
)
SELECT s.* REPLACE (coalesce(c.chain_person_id, s.candidate_person_id) AS candidate_person_id),
       CASE WHEN c.chain_person_id IS NOT NULL AND c.chain_person_id <> s.candidate_person_id
            THEN s.candidate_person_id END AS chained_from
FROM stints s
LEFT JOIN chained_persons c USING (candidate_person_id)
