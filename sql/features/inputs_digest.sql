-- Per table: row count and an order-independent 128-bit digest of the rows' contract columns, so the
-- report's inputs_sha256 names the exact input state in one cheap scan (the XOR of per-row MD5s:
-- primary keys are unique, so no two identical rows can cancel out).
-- inputs: applications, candidates, companies, hires, jobs, payouts, referrals, referrers
-- materialized: query
SELECT 'referrers' AS table_name, count(*) AS row_count,
       coalesce(bit_xor(md5_number(CAST((referrer_id, full_name, email, phone, payout_iban, birth_date, city, signed_up_at, updated_at) AS VARCHAR))), 0)::VARCHAR AS digest
FROM referrers
UNION ALL
SELECT 'candidates', count(*),
       coalesce(bit_xor(md5_number(CAST((candidate_id, full_name, email, phone, birth_date, city, profile_url, created_at, updated_at) AS VARCHAR))), 0)::VARCHAR
FROM candidates
UNION ALL
SELECT 'companies', count(*), coalesce(bit_xor(md5_number(CAST((company_id, name, country) AS VARCHAR))), 0)::VARCHAR
FROM companies
UNION ALL
SELECT 'jobs', count(*),
       coalesce(bit_xor(md5_number(CAST((job_id, company_id, title, bounty_amount, currency, guarantee_days, posted_at) AS VARCHAR))), 0)::VARCHAR
FROM jobs
UNION ALL
SELECT 'referrals', count(*),
       coalesce(bit_xor(md5_number(CAST((referral_id, referrer_id, candidate_id, job_id, referred_at, channel, ip_address, device_id) AS VARCHAR))), 0)::VARCHAR
FROM referrals
UNION ALL
SELECT 'applications', count(*),
       coalesce(bit_xor(md5_number(CAST((application_id, candidate_id, job_id, applied_at, source) AS VARCHAR))), 0)::VARCHAR
FROM applications
UNION ALL
SELECT 'hires', count(*),
       coalesce(bit_xor(md5_number(CAST((hire_id, referral_id, candidate_id, job_id, hired_at, started_at, ended_at, end_reason, updated_at) AS VARCHAR))), 0)::VARCHAR
FROM hires
UNION ALL
SELECT 'payouts', count(*),
       coalesce(bit_xor(md5_number(CAST((payout_id, hire_id, referral_id, referrer_id, amount, currency, eligible_at, status, released_at, updated_at) AS VARCHAR))), 0)::VARCHAR
FROM payouts
ORDER BY table_name
