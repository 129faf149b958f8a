-- early_exit: the hire ended before its guarantee period was over, so the bounty is not owed.
-- One flag per hire. Severity is high when the stint lasted less than $high_severity_share of the
-- guarantee period (a quick exit is the strongest sign of a placement that was never meant to last).
-- inputs: stints
WITH
early_exits AS (
    SELECT *
    FROM stints
    WHERE ended_at IS NOT NULL
      AND ended_at < guarantee_end
      AND referral_id IS NOT NULL  -- a direct hire carries no bounty: nothing is owed or not owed
      AND in_build_scope(hire_id)  -- a daily run: only the rebuilt stints (detectors' flags_follow)
)
SELECT
    'hire' AS entity_type,
    hire_id AS entity_id,
    candidate_person_id AS person_id,
    round(least(1.0, greatest(0.0, (guarantee_end - ended_at) / greatest(guarantee_days, 1))), 4) AS score,
    CASE WHEN tenure_days < $high_severity_share * guarantee_days THEN 'high' ELSE 'medium' END AS severity,
    to_json({
        'hire_id': hire_id,
        'candidate_id': candidate_id,
        'referral_id': referral_id,
        'referrer_id': referrer_id,
        'payout_id': payout_id,
        'company_id': company_id,
        'company': company_name,
        'started_at': started_at,
        'ended_at': ended_at,
        'end_reason': end_reason,
        'guarantee_days': guarantee_days,
        'guarantee_end': guarantee_end,
        'days_before_guarantee_end': guarantee_end - ended_at,
        'bounty_amount': bounty_amount,
        'currency': currency
    })::VARCHAR AS evidence
FROM early_exits
