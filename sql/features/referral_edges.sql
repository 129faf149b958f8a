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
-- Which referrer persons a candidate record's name points at, decided from counts, not pairs: a common
-- name held by thousands of candidate and referrer persons would otherwise pair them all (at ten
-- million referrals that pairing outgrew 46 GB of spill). What is needed per candidate person is only
-- whether exactly one referrer person fits (of those, exactly one living in the candidate's city), and
-- which: the smallest and the largest fitting person id say both (equal: exactly one), and the union
-- over a person's records is the least of the smallest and the greatest of the largest.
referrer_name_records AS (
    SELECT DISTINCT name_key, person_id, birth_date, city_key
    FROM person_records
    WHERE record_type = 'referrer' AND name_key IS NOT NULL
),
referrer_name_persons AS (
    -- each referrer person under each of its name keys; `dated`: a record with that name gives a
    -- birth date, so a candidate of another birth date is someone else
    SELECT name_key, person_id, bool_or(birth_date IS NOT NULL) AS dated
    FROM referrer_name_records GROUP BY ALL
),
referrer_name_cities AS (
    SELECT DISTINCT name_key, person_id, city_key FROM referrer_name_records WHERE city_key IS NOT NULL
),
referrer_name_dates AS (
    SELECT DISTINCT name_key, person_id, birth_date FROM referrer_name_records WHERE birth_date IS NOT NULL
),
-- the smallest and largest person id per group of fitting referrer persons
named_any AS (
    SELECT name_key, min(person_id) AS lo, max(person_id) AS hi FROM referrer_name_persons GROUP BY ALL
),
named_undated AS (
    SELECT name_key, min(person_id) AS lo, max(person_id) AS hi
    FROM referrer_name_persons WHERE NOT dated GROUP BY ALL
),
named_on_date AS (
    SELECT name_key, birth_date, min(person_id) AS lo, max(person_id) AS hi FROM referrer_name_dates GROUP BY ALL
),
named_in_city AS (
    SELECT name_key, city_key, min(person_id) AS lo, max(person_id) AS hi FROM referrer_name_cities GROUP BY ALL
),
named_in_city_undated AS (
    SELECT c.name_key, c.city_key, min(c.person_id) AS lo, max(c.person_id) AS hi
    FROM referrer_name_cities c JOIN referrer_name_persons p USING (name_key, person_id)
    WHERE NOT p.dated GROUP BY ALL
),
named_in_city_on_date AS (
    SELECT c.name_key, c.city_key, d.birth_date, min(c.person_id) AS lo, max(c.person_id) AS hi
    FROM referrer_name_cities c JOIN referrer_name_dates d USING (name_key, person_id)
    GROUP BY ALL
),
referrer_persons AS (
    SELECT DISTINCT person_id FROM person_records WHERE record_type = 'referrer'
),
candidate_name_fits AS (
    -- per record of a candidate person who never refers: the referrer persons of its name whose birth
    -- dates do not contradict the record's (all of them when it has none), and those of them with a
    -- record in the candidate's city
    SELECT c.person_id,
           CASE WHEN c.birth_date IS NULL THEN a.lo ELSE least(u.lo, d.lo) END AS lo,
           CASE WHEN c.birth_date IS NULL THEN a.hi ELSE greatest(u.hi, d.hi) END AS hi,
           CASE WHEN c.birth_date IS NULL THEN ca.lo ELSE least(cu.lo, cd.lo) END AS city_lo,
           CASE WHEN c.birth_date IS NULL THEN ca.hi ELSE greatest(cu.hi, cd.hi) END AS city_hi
    FROM person_records c
    LEFT JOIN named_any a ON a.name_key = c.name_key
    LEFT JOIN named_undated u ON u.name_key = c.name_key
    LEFT JOIN named_on_date d ON d.name_key = c.name_key AND d.birth_date = c.birth_date
    LEFT JOIN named_in_city ca ON ca.name_key = c.name_key AND ca.city_key = c.city_key
    LEFT JOIN named_in_city_undated cu ON cu.name_key = c.name_key AND cu.city_key = c.city_key
    LEFT JOIN named_in_city_on_date cd
           ON cd.name_key = c.name_key AND cd.city_key = c.city_key AND cd.birth_date = c.birth_date
    WHERE c.record_type = 'candidate' AND c.name_key IS NOT NULL
      AND c.person_id NOT IN (SELECT person_id FROM referrer_persons)
),
name_matches AS (
    -- candidate persons whose name fits at least one referrer person
    SELECT person_id AS candidate_person_id, min(lo) AS lo, max(hi) AS hi,
           min(city_lo) AS city_lo, max(city_hi) AS city_hi
    FROM candidate_name_fits
    WHERE lo IS NOT NULL
    GROUP BY ALL
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
-- each name key under itself and under each of its one-character deletions (SymSpell's trick): two
-- names one edit apart (a letter changed, added, dropped or swapped) share a probe, so the join meets
-- only such pairs, never a whole block of one first name in one city. Candidates' names are probed
-- against referrers' names only: one set of probes for both paired every name with every other
-- (candidates with candidates too), and the edit distance of all those pairs was most of the query.
near_name_keys AS (
    SELECT DISTINCT 'candidate' AS side, name_key FROM near_name_candidates
    UNION ALL
    SELECT DISTINCT 'referrer' AS side, name_key FROM near_name_referrers
),
name_probes AS (
    SELECT side, name_key, name_key AS probe FROM near_name_keys
    UNION
    SELECT side, name_key, substr(name_key, 1, i) || substr(name_key, i + 2) AS probe
    FROM near_name_keys, range(length(name_key)) AS deletion(i)
),
near_names AS (
    -- pairs of a candidate's and a referrer's name one edit apart, each pair of names once
    SELECT DISTINCT cp.name_key AS candidate_name, rp.name_key AS referrer_name
    FROM name_probes cp JOIN name_probes rp ON rp.probe = cp.probe
    WHERE cp.side = 'candidate' AND rp.side = 'referrer' AND cp.name_key <> rp.name_key
),
near_name_pairs AS (
    SELECT candidate_name, referrer_name
    FROM near_names
    WHERE damerau_levenshtein(candidate_name, referrer_name) = 1
      -- a part in common: a letter slipped within one part, not two parts run together or split
      AND len(list_intersect(string_split(candidate_name, ' '), string_split(referrer_name, ' '))) > 0
),
near_name_matches AS (
    SELECT DISTINCT c.person_id AS candidate_person_id, r.person_id AS referrer_person_id, true AS same_city
    FROM near_name_candidates c
    JOIN near_name_pairs p ON p.candidate_name = c.name_key
    JOIN near_name_referrers r ON r.name_key = p.referrer_name AND r.city_key = c.city_key
    WHERE c.birth_date IS NULL OR r.birth_date IS NULL OR c.birth_date = r.birth_date
),
candidate_as_referrer AS (
    -- only a candidate person whose names point at exactly one referrer person, or at several of
    -- whom exactly one lives in the candidate's city (a namesake elsewhere, or whose city is unknown,
    -- is the less likely one). A near name counts only where no exact name fits (near_name_candidates).
    SELECT candidate_person_id, CASE WHEN lo = hi THEN lo ELSE city_lo END AS referrer_person_id
    FROM name_matches
    WHERE lo = hi OR city_lo = city_hi
    UNION ALL
    SELECT candidate_person_id,
           CASE WHEN count(DISTINCT referrer_person_id) = 1 THEN any_value(referrer_person_id)
                ELSE any_value(referrer_person_id) FILTER (WHERE same_city) END AS referrer_person_id
    FROM near_name_matches
    GROUP BY candidate_person_id
    HAVING count(DISTINCT referrer_person_id) = 1
        OR count(DISTINCT referrer_person_id) FILTER (WHERE same_city) = 1
),
referral_pairs AS (
    SELECT f.referrer_person_id AS from_person,
           coalesce(a.referrer_person_id, f.candidate_person_id) AS to_person,
           f.referral_id, f.referred_at, f.hire_id,
           a.referrer_person_id IS NOT NULL AS by_name
    FROM referral_facts f
    LEFT JOIN candidate_as_referrer a ON a.candidate_person_id = f.candidate_person_id
    WHERE f.referrer_person_id <> coalesce(a.referrer_person_id, f.candidate_person_id)
),
both_roles AS (
    SELECT from_person AS person_id FROM referral_pairs
    INTERSECT
    SELECT to_person FROM referral_pairs
)
-- each edge's referrals listed only for the edges kept: listing them for every pair before the
-- filter cost half of the query (at one million referrals, a million lists to keep 25,000)
SELECT from_person, to_person,
       list(referral_id ORDER BY referred_at, referral_id) AS referral_ids,
       count(hire_id) AS hires,
       bool_or(by_name) AS by_name
FROM referral_pairs
WHERE from_person IN (SELECT person_id FROM both_roles)
  AND to_person IN (SELECT person_id FROM both_roles)
GROUP BY from_person, to_person
ORDER BY from_person, to_person
