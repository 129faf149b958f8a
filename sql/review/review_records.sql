-- The identity records of every person in a case or one referral away from one: what the case page
-- shows as "who is behind this" (raw values as the platform has them; lists mask contacts).
-- inputs: candidates, person_records, referral_facts, referrers, review_cases
WITH
wanted AS (
    SELECT person_id FROM review_cases
    UNION SELECT candidate_person_id FROM referral_facts WHERE referrer_person_id IN (SELECT person_id FROM review_cases)
    UNION SELECT referrer_person_id FROM referral_facts WHERE candidate_person_id IN (SELECT person_id FROM review_cases)
)
SELECT pr.person_id, pr.record_type, pr.record_id,
       coalesce(r.full_name, c.full_name) AS full_name,
       coalesce(r.email, c.email) AS email,
       coalesce(r.phone, c.phone) AS phone,
       r.payout_iban,
       coalesce(r.birth_date, c.birth_date) AS birth_date,
       coalesce(r.city, c.city) AS city,
       coalesce(r.signed_up_at, c.created_at) AS created_at
FROM person_records pr
LEFT JOIN referrers r ON pr.record_type = 'referrer' AND r.referrer_id = pr.record_id
LEFT JOIN candidates c ON pr.record_type = 'candidate' AND c.candidate_id = pr.record_id
WHERE pr.person_id IN (SELECT person_id FROM wanted)
