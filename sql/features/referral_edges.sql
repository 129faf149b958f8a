-- The person-level referral graph, reduced to what can be on a cycle: an edge referrer person ->
-- candidate person for each pair, kept only when both ends are both referrer and candidate somewhere
-- (a cycle needs every member to refer and to be referred). Self-referrals are not edges of a ring.
--
-- Ring members hide behind fresh candidate records (another mailbox, another script) that identity
-- resolution cannot tie to their referrer account on a name alone: a namesake is far likelier. For the
-- ring search only, a candidate person who never refers takes the place of the one referrer person
-- with the same name key whose birth date does not contradict the candidate's (namesakes are told
-- apart by their birth dates, then by the candidate's city: the one namesake living there; none when
-- several remain).
-- A disguise may also change a letter of the name (Moroz / Moors): a hired candidate person whose
-- name key is one edit from a referrer person's, in the same city, takes that person's place too
-- (blocked on one-character deletions of the name and on the city, so it never compares all pairs).
-- Such a guess makes an edge (by_name), never a ring by itself: the ring detector accepts a cycle with
-- such an edge only when every referral on it led to a hire (common names do refer each other by
-- chance; namesakes who are also all hired through each other do not).
-- inputs: person_records, referral_facts
-- materialized: query
WITH
referrer_names AS (
    -- each referrer person under each of its name keys, with the birth dates its records give
    SELECT name_key, person_id AS referrer_person_id,
           list(DISTINCT birth_date) FILTER (WHERE birth_date IS NOT NULL) AS birth_dates,
           list(DISTINCT city_key) FILTER (WHERE city_key IS NOT NULL) AS city_keys
    FROM person_records
    WHERE record_type = 'referrer' AND name_key IS NOT NULL
    GROUP BY ALL
),
referrer_persons AS (
    SELECT DISTINCT person_id FROM person_records WHERE record_type = 'referrer'
),
name_matches AS (
    SELECT DISTINCT c.person_id AS candidate_person_id, n.referrer_person_id,
           coalesce(list_contains(n.city_keys, c.city_key), false) AS same_city
    FROM person_records c
    JOIN referrer_names n ON n.name_key = c.name_key
    WHERE c.record_type = 'candidate'
      AND c.person_id NOT IN (SELECT person_id FROM referrer_persons)
      AND (c.birth_date IS NULL OR n.birth_dates IS NULL OR list_contains(n.birth_dates, c.birth_date))
),
hired_candidate_persons AS (
    SELECT DISTINCT candidate_person_id AS person_id FROM referral_facts WHERE hire_id IS NOT NULL
),
near_name_candidates AS (
    -- hired candidate persons who never refer and whose name matches no referrer's exactly
    SELECT DISTINCT person_id, name_key, city_key, birth_date
    FROM person_records
    WHERE record_type = 'candidate' AND name_key IS NOT NULL AND city_key IS NOT NULL
      AND person_id IN (SELECT person_id FROM hired_candidate_persons)
      AND person_id NOT IN (SELECT person_id FROM referrer_persons)
      -- an exact name wins: a near name never makes an exact match ambiguous
      AND person_id NOT IN (SELECT candidate_person_id FROM name_matches)
),
near_name_referrers AS (
    SELECT DISTINCT person_id, name_key, city_key, birth_date
    FROM person_records
    WHERE record_type = 'referrer' AND name_key IS NOT NULL AND city_key IS NOT NULL
),
near_name_keys AS (
    SELECT name_key FROM near_name_candidates UNION SELECT name_key FROM near_name_referrers
),
name_probes AS (
    -- each name key under itself and under each of its one-character deletions (SymSpell's trick): two
    -- names one edit apart (a letter changed, added, dropped or swapped) share a probe, so the join
    -- meets only such pairs, never a whole block of one first name in one city
    SELECT name_key, name_key AS probe FROM near_name_keys
    UNION
    SELECT name_key, substr(name_key, 1, i) || substr(name_key, i + 2) AS probe
    FROM near_name_keys, range(length(name_key)) AS deletion(i)
),
near_name_matches AS (
    SELECT DISTINCT c.person_id AS candidate_person_id, r.person_id AS referrer_person_id, true AS same_city
    FROM near_name_candidates c
    JOIN name_probes cp ON cp.name_key = c.name_key
    JOIN name_probes rp ON rp.probe = cp.probe
    JOIN near_name_referrers r ON r.name_key = rp.name_key AND r.city_key = c.city_key
    WHERE c.name_key <> r.name_key
      AND damerau_levenshtein(c.name_key, r.name_key) = 1
      -- a part in common: a letter slipped within one part, not two parts run together or split
      AND len(list_intersect(string_split(c.name_key, ' '), string_split(r.name_key, ' '))) > 0
      AND (c.birth_date IS NULL OR r.birth_date IS NULL OR c.birth_date = r.birth_date)
),
candidate_as_referrer AS (
    -- only a candidate person whose names point at exactly one referrer person, or at several of
    -- whom exactly one lives in the candidate's city (a namesake elsewhere, or whose city is unknown,
    -- is the less likely one)
    SELECT candidate_person_id,
           CASE WHEN count(DISTINCT referrer_person_id) = 1 THEN any_value(referrer_person_id)
                ELSE any_value(referrer_person_id) FILTER (WHERE same_city) END AS referrer_person_id
    FROM (SELECT * FROM name_matches UNION SELECT * FROM near_name_matches)
    GROUP BY candidate_person_id
    HAVING count(DISTINCT referrer_person_id) = 1
        OR count(DISTINCT referrer_person_id) FILTER (WHERE same_city) = 1
),
edges AS (
    SELECT f.referrer_person_id AS from_person,
           coalesce(a.referrer_person_id, f.candidate_person_id) AS to_person,
           list(f.referral_id ORDER BY f.referred_at, f.referral_id) AS referral_ids,
           count(f.hire_id) AS hires,
           bool_or(a.referrer_person_id IS NOT NULL) AS by_name
    FROM referral_facts f
    LEFT JOIN candidate_as_referrer a ON a.candidate_person_id = f.candidate_person_id
    WHERE f.referrer_person_id <> coalesce(a.referrer_person_id, f.candidate_person_id)
    GROUP BY ALL
),
both_roles AS (
    SELECT from_person AS person_id FROM edges
    INTERSECT
    SELECT to_person FROM edges
)
SELECT e.*
FROM edges e
WHERE e.from_person IN (SELECT person_id FROM both_roles)
  AND e.to_person IN (SELECT person_id FROM both_roles)
ORDER BY e.from_person, e.to_person
