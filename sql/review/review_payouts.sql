-- Every payout known on the as-of date with the two persons behind it (referrer, candidate) and this
-- run's decision on it (NULL: not due and not released, so the run did not decide it).
-- inputs: asof_payouts, payout_decisions, person_records, stints
SELECT
    p.payout_id,
    p.hire_id,
    p.referral_id,
    p.referrer_id,
    coalesce(rp.person_id, 'referrer:' || p.referrer_id) AS referrer_person_id,
    s.candidate_id,
    s.candidate_person_id,
    p.amount,
    p.currency,
    p.eligible_at,
    p.status,
    p.released_at,
    d.decision,
    d.reasons
FROM asof_payouts p
LEFT JOIN stints s ON s.hire_id = p.hire_id
LEFT JOIN person_records rp ON rp.record_type = 'referrer' AND rp.record_id = p.referrer_id
LEFT JOIN payout_decisions d ON d.run_id = $run_id AND d.payout_id = p.payout_id
