-- Quarantined rows: rows that were read and typed fine but contradict other data in a way no abuse
-- pattern explains (CONTRACT.md, "Bad data"). They stay loaded; the payouts they touch are held with
-- the reason data_inconsistent and every other payout is decided as usual. Whole current state, so a
-- row stays quarantined in later runs until the platform corrects it.
-- Each branch checks only the rows `in_quarantine_scope` (sql/macros.sql; the checked_ CTEs): every
-- row, unless a daily run checks again only the rows whose inputs changed and those quarantined
-- before (sql/incremental/quarantine_scope.sql, bountyguard/validate.py).
--
-- One branch per check, each starting with `SELECT '<check>' AS check_name, '<table>' AS table_name`:
-- the gate reads the checks from this file (a check that finds nothing still reports 0). Single-row rules on values
-- (amounts, ranges, codes, e-mail syntax) are declared once in validate.ROW_RULES and added to this
-- query by validate.quarantine_sql(); this file holds what needs a join or a checksum.
--
-- What is deliberately NOT here: a referral submitted after its hire is the late_referral scheme, and
-- several referrers claiming one candidate is duplicate_referral. Abuse is data to screen, never bad data.
-- inputs: applications, candidates, companies, hires, jobs, payouts, referrals, referrers
WITH
-- the rows each check looks at, first: a filter on an expensive expression (an IBAN's checksum) or a
-- join with a whole parent table would otherwise run over every row before the scope narrows them.
-- A parent is looked up by a left join (keys are unique): DuckDB builds its hash table on the few
-- checked rows then, where NOT EXISTS built one of every parent (at ten million referrals the checks
-- took 4.6 s with the scope, 2.1 s so; every row: 8.0 and 7.7 s)
checked_hires AS MATERIALIZED (
    SELECT hire_id, referral_id, candidate_id, job_id, started_at, ended_at
    FROM hires WHERE in_quarantine_scope('hires', hire_id)
),
checked_payouts AS MATERIALIZED (
    SELECT payout_id, hire_id, referral_id, referrer_id, eligible_at, amount, currency, status, released_at
    FROM payouts WHERE in_quarantine_scope('payouts', payout_id)
),
checked_referrals AS MATERIALIZED (
    SELECT referral_id, referrer_id, candidate_id, job_id
    FROM referrals WHERE in_quarantine_scope('referrals', referral_id)
),
checked_applications AS MATERIALIZED (
    SELECT application_id, candidate_id, job_id
    FROM applications WHERE in_quarantine_scope('applications', application_id)
),
checked_jobs AS MATERIALIZED (
    SELECT job_id, company_id FROM jobs WHERE in_quarantine_scope('jobs', job_id)
),
checked_referrers AS MATERIALIZED (
    SELECT referrer_id, payout_iban FROM referrers WHERE in_quarantine_scope('referrers', referrer_id)
),
hires_with_referral AS MATERIALIZED (
    SELECT h.hire_id, h.referral_id, h.job_id <> r.job_id OR h.candidate_id <> r.candidate_id AS other_job_or_candidate
    FROM checked_hires h JOIN referrals r USING (referral_id)
),
payouts_with_hire AS MATERIALIZED (
    SELECT p.payout_id, p.eligible_at, p.amount, p.currency,
           p.referral_id AS payout_referral_id, p.referrer_id AS payout_referrer_id,
           h.started_at, h.referral_id AS hire_referral_id,
           j.guarantee_days, j.bounty_amount, j.currency AS job_currency,
           r.referrer_id AS referral_referrer_id
    FROM checked_payouts p
    JOIN hires h USING (hire_id)
    JOIN jobs j ON j.job_id = h.job_id
    LEFT JOIN referrals r ON r.referral_id = p.referral_id
),
-- a hire owes one bounty: every live payout of a hire that has several would risk paying it twice
hires_with_several_payouts AS (
    SELECT hire_id
    FROM payouts
    WHERE status NOT IN ('void', 'clawed_back') AND hire_id IN (SELECT hire_id FROM checked_payouts)
    GROUP BY hire_id
    HAVING count(*) > 1
)
SELECT 'start_before_end' AS check_name, 'hires' AS table_name, hire_id AS record_key
FROM checked_hires WHERE ended_at < started_at
UNION ALL
SELECT 'hire_job_matches_referral_job' AS check_name, 'hires' AS table_name, hire_id AS record_key
FROM hires_with_referral WHERE other_job_or_candidate
UNION ALL
SELECT 'hire_parents_exist' AS check_name, 'hires' AS table_name, h.hire_id AS record_key FROM checked_hires h
LEFT JOIN referrals r ON r.referral_id = h.referral_id
LEFT JOIN candidates c ON c.candidate_id = h.candidate_id
LEFT JOIN jobs j ON j.job_id = h.job_id
WHERE (h.referral_id IS NOT NULL AND r.referral_id IS NULL) OR c.candidate_id IS NULL OR j.job_id IS NULL
UNION ALL
SELECT 'eligible_at_is_start_plus_guarantee' AS check_name, 'payouts' AS table_name, payout_id AS record_key
FROM payouts_with_hire WHERE eligible_at <> started_at + guarantee_days
UNION ALL
SELECT 'payout_matches_hire_referral' AS check_name, 'payouts' AS table_name, payout_id AS record_key
FROM payouts_with_hire
WHERE payout_referral_id IS DISTINCT FROM hire_referral_id OR payout_referrer_id IS DISTINCT FROM referral_referrer_id
UNION ALL
SELECT 'payout_amount_is_the_job_bounty' AS check_name, 'payouts' AS table_name, payout_id AS record_key
FROM payouts_with_hire WHERE amount <> bounty_amount OR currency <> job_currency
UNION ALL
SELECT 'one_payout_per_hire' AS check_name, 'payouts' AS table_name, p.payout_id AS record_key
FROM checked_payouts p JOIN hires_with_several_payouts USING (hire_id)
WHERE p.status NOT IN ('void', 'clawed_back')
UNION ALL
SELECT 'released_payout_has_released_at' AS check_name, 'payouts' AS table_name, payout_id AS record_key
FROM checked_payouts WHERE status = 'released' AND released_at IS NULL
UNION ALL
SELECT 'payout_parents_exist' AS check_name, 'payouts' AS table_name, p.payout_id AS record_key FROM checked_payouts p
LEFT JOIN hires h ON h.hire_id = p.hire_id
LEFT JOIN referrals r ON r.referral_id = p.referral_id
LEFT JOIN referrers a ON a.referrer_id = p.referrer_id
WHERE h.hire_id IS NULL OR r.referral_id IS NULL OR a.referrer_id IS NULL
UNION ALL
SELECT 'referral_parents_exist' AS check_name, 'referrals' AS table_name, r.referral_id AS record_key FROM checked_referrals r
LEFT JOIN referrers a ON a.referrer_id = r.referrer_id
LEFT JOIN candidates c ON c.candidate_id = r.candidate_id
LEFT JOIN jobs j ON j.job_id = r.job_id
WHERE a.referrer_id IS NULL OR c.candidate_id IS NULL OR j.job_id IS NULL
UNION ALL
SELECT 'application_parents_exist' AS check_name, 'applications' AS table_name, a.application_id AS record_key FROM checked_applications a
LEFT JOIN candidates c ON c.candidate_id = a.candidate_id
LEFT JOIN jobs j ON j.job_id = a.job_id
WHERE c.candidate_id IS NULL OR j.job_id IS NULL
UNION ALL
SELECT 'job_company_exists' AS check_name, 'jobs' AS table_name, j.job_id AS record_key FROM checked_jobs j
LEFT JOIN companies c ON c.company_id = j.company_id
WHERE c.company_id IS NULL
UNION ALL
-- an IBAN typed with spaces, dashes, dots or in lower case is normalised, not quarantined; one whose
-- ISO 13616 check digits are wrong cannot be paid to and may be a mistyped (or altered) account
SELECT 'payout_iban_checksum' AS check_name, 'referrers' AS table_name, referrer_id AS record_key FROM checked_referrers
WHERE payout_iban IS NOT NULL AND NOT iban_is_valid(iban_compact(payout_iban))
