-- duplicate_referral: the candidate person was already known to the company when this referral came
-- in (an earlier referral by someone else within the ownership window, the candidate's own
-- application, or earlier employment there), so this referral does not own the bounty.
-- $ownership_window_days > 0 limits how far back an earlier referral or application counts (0: no limit).
-- Only referrals that led to a hire are flagged: they are the ones that claim a bounty.
-- inputs: asof_applications, jobs, person_records, referral_facts, stints
WITH
claiming_referrals AS (
    -- in_build_scope: a daily run reads only the candidate persons whose rows changed (detectors'
    -- flags_follow); every person otherwise
    SELECT * FROM referral_facts WHERE hire_id IS NOT NULL AND in_build_scope(candidate_person_id)
),
earlier_referrals AS (
    SELECT c.referral_id, 'earlier_referral' AS kind, e.referral_id AS earlier_id, e.referred_at AS known_at,
           e.referrer_id AS earlier_referrer_id
    FROM claiming_referrals c
    JOIN (SELECT * FROM referral_facts WHERE in_build_scope(candidate_person_id)) e
      ON e.candidate_person_id = c.candidate_person_id
     AND e.company_id = c.company_id
     AND e.referrer_person_id <> c.referrer_person_id
     AND e.referred_at < c.referred_at
     AND ($ownership_window_days = 0 OR e.referred_at >= c.referred_at - to_days(CAST($ownership_window_days AS INTEGER)))
),
own_applications AS (
    SELECT c.referral_id, 'own_application' AS kind, a.application_id AS earlier_id, a.applied_at AS known_at,
           NULL AS earlier_referrer_id
    FROM claiming_referrals c
    JOIN asof_applications a ON a.applied_at < c.referred_at
    JOIN jobs j ON j.job_id = a.job_id AND j.company_id = c.company_id
    JOIN person_records pr ON pr.record_type = 'candidate' AND pr.record_id = a.candidate_id
                          AND pr.person_id = c.candidate_person_id
    WHERE a.source IN ('direct', 'agency')
      AND ($ownership_window_days = 0 OR a.applied_at >= c.referred_at - to_days(CAST($ownership_window_days AS INTEGER)))
),
earlier_employment AS (
    SELECT c.referral_id, 'earlier_employment' AS kind, s.hire_id AS earlier_id,
           CAST(s.started_at AS TIMESTAMP) AS known_at, NULL AS earlier_referrer_id
    FROM claiming_referrals c
    JOIN (SELECT * FROM stints WHERE in_build_scope(candidate_person_id)) s
      ON s.candidate_person_id = c.candidate_person_id
     AND s.company_id = c.company_id
     AND s.hire_id <> c.hire_id
     AND s.started_at < CAST(c.referred_at AS DATE)
),
prior_knowledge AS (
    SELECT * FROM earlier_referrals
    UNION ALL SELECT * FROM own_applications
    UNION ALL SELECT * FROM earlier_employment
),
known_before AS (
    SELECT referral_id,
           list({'kind': kind, 'id': earlier_id, 'at': known_at, 'referrer_id': earlier_referrer_id}
                ORDER BY known_at, earlier_id) AS known
    FROM prior_knowledge
    GROUP BY referral_id
)
SELECT
    'referral' AS entity_type,
    c.referral_id AS entity_id,
    c.candidate_person_id AS person_id,
    1.0 AS score,
    'medium' AS severity,
    to_json({
        'referral_id': c.referral_id,
        'referrer_id': c.referrer_id,
        'candidate_id': c.candidate_id,
        'candidate_person_id': c.candidate_person_id,
        'company_id': c.company_id,
        'referred_at': c.referred_at,
        'hire_id': c.hire_id,
        'payout_id': c.payout_id,
        'known_before': k.known
    })::VARCHAR AS evidence
FROM claiming_referrals c
JOIN known_before k USING (referral_id)
