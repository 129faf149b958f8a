-- One row per referral known on the as-of date, with the persons behind it, the company it was for
-- and, where it led to one, its hire and payout.
-- A referral's hire and payout are taken from its stint.
-- Kept between runs: a daily run rebuilds only the rows whose inputs changed (bountyguard/incremental.py).
-- inputs: asof_referrals, jobs, person_records, stints
-- unique_key: referral_id
WITH
referral_hires AS (
    SELECT referral_id, min(hire_id) AS hire_id FROM stints
    WHERE referral_id IS NOT NULL AND in_build_scope(referral_id)
    GROUP BY referral_id
)
SELECT
    r.referral_id,
    r.referrer_id,
    coalesce(rp.person_id, 'referrer:' || r.referrer_id) AS referrer_person_id,
    r.candidate_id,
    coalesce(cp.person_id, 'candidate:' || r.candidate_id) AS candidate_person_id,
    r.job_id,
    j.company_id,
    r.referred_at,
    r.channel,
    rh.hire_id,
    s.hired_at,
    s.started_at,
    s.payout_id
FROM asof_referrals r
JOIN jobs j ON j.job_id = r.job_id
LEFT JOIN person_records rp ON rp.record_type = 'referrer' AND rp.record_id = r.referrer_id
LEFT JOIN person_records cp ON cp.record_type = 'candidate' AND cp.record_id = r.candidate_id
LEFT JOIN referral_hires rh ON rh.referral_id = r.referral_id
LEFT JOIN stints s ON s.hire_id = rh.hire_id
-- (a daily run: only the referrals it rebuilds)
WHERE in_build_scope(r.referral_id)
