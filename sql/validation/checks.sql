-- Whole-history and cross-table data checks, as one cheap DuckDB pass over the current state.
-- Each row is one named check with the number of violating rows; the Great Expectations gate then
-- expects every count to be 0. Add a check by adding a UNION ALL branch.
WITH
hires_with_referral AS (
    SELECT h.hire_id, h.hired_at, r.referred_at, h.referral_id
    FROM hires h JOIN referrals r USING (referral_id)
),
payouts_with_hire AS (
    SELECT p.payout_id, p.eligible_at, p.referral_id AS payout_referral_id, p.referrer_id AS payout_referrer_id,
           h.started_at, h.referral_id AS hire_referral_id, j.guarantee_days, r.referrer_id AS referral_referrer_id
    FROM payouts p
    JOIN hires h USING (hire_id)
    JOIN jobs j ON j.job_id = h.job_id
    LEFT JOIN referrals r ON r.referral_id = p.referral_id
)
SELECT 'referral_before_hire' AS check_name, 'hires' AS table_name,
       count(*) FILTER (WHERE referred_at > hired_at) AS violations
FROM hires_with_referral
UNION ALL
SELECT 'start_before_end', 'hires', count(*) FILTER (WHERE ended_at < started_at) FROM hires
UNION ALL
SELECT 'eligible_at_is_start_plus_guarantee', 'payouts',
       count(*) FILTER (WHERE eligible_at <> started_at + guarantee_days) FROM payouts_with_hire
UNION ALL
SELECT 'payout_matches_hire_referral', 'payouts',
       count(*) FILTER (WHERE payout_referral_id IS DISTINCT FROM hire_referral_id
                           OR payout_referrer_id IS DISTINCT FROM referral_referrer_id)
FROM payouts_with_hire
UNION ALL
SELECT 'bounty_amount_positive', 'jobs', count(*) FILTER (WHERE bounty_amount <= 0) FROM jobs
UNION ALL
SELECT 'payout_amount_positive', 'payouts', count(*) FILTER (WHERE amount <= 0) FROM payouts
UNION ALL
SELECT 'guarantee_days_in_range', 'jobs', count(*) FILTER (WHERE guarantee_days NOT BETWEEN 0 AND 365) FROM jobs
UNION ALL
SELECT 'job_currency_iso_form', 'jobs', count(*) FILTER (WHERE NOT regexp_full_match(currency, '[A-Z]{3}')) FROM jobs
UNION ALL
SELECT 'payout_currency_iso_form', 'payouts', count(*) FILTER (WHERE NOT regexp_full_match(currency, '[A-Z]{3}')) FROM payouts
UNION ALL
SELECT 'company_country_iso_form', 'companies', count(*) FILTER (WHERE NOT regexp_full_match(country, '[A-Z]{2}')) FROM companies
UNION ALL
SELECT 'released_payout_has_released_at', 'payouts',
       count(*) FILTER (WHERE status = 'released' AND released_at IS NULL) FROM payouts
UNION ALL
SELECT 'hire_job_matches_referral_job', 'hires',
       count(*) FILTER (WHERE h.job_id <> r.job_id OR h.candidate_id <> r.candidate_id)
FROM hires h JOIN referrals r USING (referral_id)
