-- The referrals, hires and stints of every person in a case, as referrer or as candidate: what the
-- case page's timeline draws (referred, hired, started, guarantee end, ended, payout). Hires without
-- a referral are in it too (job hopping is about every stint), and referrals that led to no hire.
-- inputs: referral_facts, review_cases, stints
SELECT s.referral_id, s.referrer_id, s.referrer_person_id, s.candidate_id, s.candidate_person_id,
       s.job_id, s.company_id, s.company_name, s.referred_at,
       s.hire_id, s.hired_at, s.started_at, s.guarantee_days, s.guarantee_end, s.ended_at, s.end_reason,
       s.tenure_days, s.bounty_amount, s.currency, s.payout_id
FROM stints s
WHERE s.candidate_person_id IN (SELECT person_id FROM review_cases)
   OR s.referrer_person_id IN (SELECT person_id FROM review_cases)
UNION ALL
SELECT rf.referral_id, rf.referrer_id, rf.referrer_person_id, rf.candidate_id, rf.candidate_person_id,
       rf.job_id, rf.company_id, NULL, rf.referred_at,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM referral_facts rf
WHERE rf.hire_id IS NULL
  AND (rf.referrer_person_id IN (SELECT person_id FROM review_cases)
       OR rf.candidate_person_id IN (SELECT person_id FROM review_cases))
