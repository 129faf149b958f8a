-- Every referred stint under each name its candidate person holds (a typo in one record, a
-- transliteration in another: a chain may run through any of them), with the name, city and birth
-- date of the stint's own candidate record. What sql/features/stint_chains.sql reads, name by name.
-- Kept between runs: a daily run rebuilds the hires whose stint changed or whose candidate person's
-- records did (bountyguard/incremental.py, sql/incremental/changed_chains.sql).
-- inputs: person_records, stints
-- unique_key: hire_id
WITH
referred_stints AS (
    SELECT hire_id, candidate_id, candidate_person_id, referrer_person_id, company_id, started_at, ended_at,
           days_after_guarantee
    FROM stints
    WHERE referral_id IS NOT NULL
      -- (a daily run: only the hires it rebuilds)
      AND in_build_scope(hire_id)
),
person_names AS (
    SELECT DISTINCT person_id AS candidate_person_id, name_key
    FROM person_records
    WHERE record_type = 'candidate' AND name_key IS NOT NULL
      AND person_id IN (SELECT candidate_person_id FROM referred_stints)
)
SELECT s.hire_id, s.candidate_person_id, s.referrer_person_id, s.company_id, s.started_at, s.ended_at,
       s.days_after_guarantee, n.name_key,
       c.name_key AS record_name_key, c.city_key AS record_city_key, c.birth_date AS record_birth_date
FROM referred_stints s
JOIN person_names n USING (candidate_person_id)
LEFT JOIN person_records c ON c.record_type = 'candidate' AND c.record_id = s.candidate_id
