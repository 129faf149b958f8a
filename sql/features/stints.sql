-- One row per hire known on the as-of date: who worked where, from when to when, relative to the
-- job's guarantee period, who referred them and which payout it carries. Persons, not records:
-- candidate_person_id / referrer_person_id come from identity resolution (person_records).
-- Kept between runs: a daily run rebuilds only the rows whose inputs changed (bountyguard/incremental.py).
-- inputs: asof_hires, asof_referrals, companies, jobs, payouts, person_records
-- unique_key: hire_id
WITH
hire_payouts AS (
    SELECT hire_id, min(payout_id) AS payout_id FROM payouts WHERE in_build_scope(hire_id) GROUP BY hire_id
)
SELECT
    h.hire_id,
    h.candidate_id,
    coalesce(cp.person_id, 'candidate:' || h.candidate_id) AS candidate_person_id,
    h.job_id,
    j.company_id,
    co.name AS company_name,
    h.referral_id,
    r.referrer_id,
    CASE WHEN r.referrer_id IS NOT NULL
         THEN coalesce(rp.person_id, 'referrer:' || r.referrer_id) END AS referrer_person_id,
    r.referred_at,
    h.hired_at,
    h.started_at,
    h.ended_at,
    h.end_reason,
    j.guarantee_days,
    h.started_at + j.guarantee_days AS guarantee_end,
    h.ended_at - (h.started_at + j.guarantee_days) AS days_after_guarantee,
    h.ended_at - h.started_at AS tenure_days,
    j.bounty_amount,
    j.currency,
    hp.payout_id
FROM asof_hires h
JOIN jobs j ON j.job_id = h.job_id
LEFT JOIN companies co ON co.company_id = j.company_id
LEFT JOIN asof_referrals r ON r.referral_id = h.referral_id
LEFT JOIN person_records cp ON cp.record_type = 'candidate' AND cp.record_id = h.candidate_id
LEFT JOIN person_records rp ON rp.record_type = 'referrer' AND rp.record_id = r.referrer_id
LEFT JOIN hire_payouts hp ON hp.hire_id = h.hire_id
-- (a daily run: only the hires it rebuilds)
WHERE in_build_scope(h.hire_id)
