-- Quarantined rows: rows that were read and typed fine but contradict other data in a way no abuse
-- pattern explains (CONTRACT.md, "Bad data"). They stay loaded; the payouts they touch are held with
-- the reason data_inconsistent and every other payout is decided as usual. Whole current state, so a
-- row stays quarantined in later runs until the platform corrects it.
-- Each branch checks only the rows `in_quarantine_scope` (sql/macros.sql): every row, unless a daily
-- run checks again only the rows whose inputs changed and those quarantined before
-- (sql/incremental/quarantine_scope.sql, bountyguard/validate.py).
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
hires_with_referral AS MATERIALIZED (
    SELECT h.hire_id, h.referral_id, h.job_id <> r.job_id OR h.candidate_id <> r.candidate_id AS other_job_or_candidate
    FROM hires h JOIN referrals r USING (referral_id)
    WHERE in_quarantine_scope('hires', h.hire_id)
),
payouts_with_hire AS MATERIALIZED (
    SELECT p.payout_id, p.eligible_at, p.amount, p.currency,
           p.referral_id AS payout_referral_id, p.referrer_id AS payout_referrer_id,
           h.started_at, h.referral_id AS hire_referral_id,
           j.guarantee_days, j.bounty_amount, j.currency AS job_currency,
           r.referrer_id AS referral_referrer_id
    FROM payouts p
    JOIN hires h USING (hire_id)
    JOIN jobs j ON j.job_id = h.job_id
    LEFT JOIN referrals r ON r.referral_id = p.referral_id
    WHERE in_quarantine_scope('payouts', p.payout_id)
),
-- a hire owes one bounty: every live payout of a hire that has several would risk paying it twice
hires_with_several_payouts AS (
    SELECT hire_id
    FROM payouts
    WHERE status NOT IN ('void', 'clawed_back')
    GROUP BY hire_id
    HAVING count(*) > 1
)
SELECT 'start_before_end' AS check_name, 'hires' AS table_name, hire_id AS record_key
FROM hires WHERE ended_at < started_at AND in_quarantine_scope('hires', hire_id)
UNION ALL
SELECT 'hire_job_matches_referral_job' AS check_name, 'hires' AS table_name, hire_id AS record_key
FROM hires_with_referral WHERE other_job_or_candidate
UNION ALL
SELECT 'hire_parents_exist' AS check_name, 'hires' AS table_name, h.hire_id AS record_key FROM hires h
WHERE in_quarantine_scope('hires', h.hire_id) AND (
      (h.referral_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM referrals x WHERE x.referral_id = h.referral_id))
   OR NOT EXISTS (SELECT 1 FROM candidates x WHERE x.candidate_id = h.candidate_id)
   OR NOT EXISTS (SELECT 1 FROM jobs x WHERE x.job_id = h.job_id))
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
FROM payouts p JOIN hires_with_several_payouts USING (hire_id)
WHERE p.status NOT IN ('void', 'clawed_back') AND in_quarantine_scope('payouts', p.payout_id)
UNION ALL
SELECT 'released_payout_has_released_at' AS check_name, 'payouts' AS table_name, payout_id AS record_key
FROM payouts WHERE status = 'released' AND released_at IS NULL AND in_quarantine_scope('payouts', payout_id)
UNION ALL
SELECT 'payout_parents_exist' AS check_name, 'payouts' AS table_name, p.payout_id AS record_key FROM payouts p
WHERE in_quarantine_scope('payouts', p.payout_id) AND (
      NOT EXISTS (SELECT 1 FROM hires x WHERE x.hire_id = p.hire_id)
   OR NOT EXISTS (SELECT 1 FROM referrals x WHERE x.referral_id = p.referral_id)
   OR NOT EXISTS (SELECT 1 FROM referrers x WHERE x.referrer_id = p.referrer_id))
UNION ALL
SELECT 'referral_parents_exist' AS check_name, 'referrals' AS table_name, r.referral_id AS record_key FROM referrals r
WHERE in_quarantine_scope('referrals', r.referral_id) AND (
      NOT EXISTS (SELECT 1 FROM referrers x WHERE x.referrer_id = r.referrer_id)
   OR NOT EXISTS (SELECT 1 FROM candidates x WHERE x.candidate_id = r.candidate_id)
   OR NOT EXISTS (SELECT 1 FROM jobs x WHERE x.job_id = r.job_id))
UNION ALL
SELECT 'application_parents_exist' AS check_name, 'applications' AS table_name, a.application_id AS record_key FROM applications a
WHERE in_quarantine_scope('applications', a.application_id) AND (
      NOT EXISTS (SELECT 1 FROM candidates x WHERE x.candidate_id = a.candidate_id)
   OR NOT EXISTS (SELECT 1 FROM jobs x WHERE x.job_id = a.job_id))
UNION ALL
SELECT 'job_company_exists' AS check_name, 'jobs' AS table_name, j.job_id AS record_key FROM jobs j
WHERE in_quarantine_scope('jobs', j.job_id) AND NOT EXISTS (SELECT 1 FROM companies x WHERE x.company_id = j.company_id)
UNION ALL
-- an IBAN typed with spaces, dashes, dots or in lower case is normalised, not quarantined; one whose
-- ISO 13616 check digits are wrong cannot be paid to and may be a mistyped (or altered) account
SELECT 'payout_iban_checksum' AS check_name, 'referrers' AS table_name, referrer_id AS record_key FROM referrers
WHERE payout_iban IS NOT NULL AND NOT iban_is_valid(iban_compact(payout_iban))
  AND in_quarantine_scope('referrers', referrer_id)
