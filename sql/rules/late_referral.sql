-- late_referral: the referral was submitted after the hire was agreed, or implausibly close before
-- it (less than $min_hours_before_hire hours): the referrer did not bring the candidate in.
-- inputs: referral_facts
SELECT
    'referral' AS entity_type,
    referral_id AS entity_id,
    referrer_person_id AS person_id,
    CASE WHEN referred_at >= hired_at THEN 1.0 ELSE 0.8 END AS score,
    'medium' AS severity,
    to_json({
        'referral_id': referral_id,
        'referrer_id': referrer_id,
        'candidate_id': candidate_id,
        'job_id': job_id,
        'referred_at': referred_at,
        'hired_at': hired_at,
        'started_at': started_at,
        'hours_before_hire': round(epoch(hired_at - referred_at) / 3600.0, 1),
        'min_hours_before_hire': $min_hours_before_hire,
        'hire_id': hire_id,
        'payout_id': payout_id
    })::VARCHAR AS evidence
FROM referral_facts
WHERE hire_id IS NOT NULL
  AND referred_at > hired_at - to_hours(CAST($min_hours_before_hire AS INTEGER))
  -- a daily run: only the rebuilt rows (detectors' flags_follow)
  AND in_build_scope(referral_id)
