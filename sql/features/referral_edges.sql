-- The person-level referral graph, reduced to what can be on a cycle: an edge referrer person ->
-- candidate person for each pair, kept only when both ends are both referrer and candidate somewhere
-- (a cycle needs every member to refer and to be referred). Self-referrals are not edges of a ring.
-- inputs: referral_facts
-- materialized: query
WITH
edges AS (
    SELECT referrer_person_id AS from_person, candidate_person_id AS to_person,
           list(referral_id ORDER BY referred_at, referral_id) AS referral_ids,
           count(hire_id) AS hires
    FROM referral_facts
    WHERE referrer_person_id <> candidate_person_id
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
