-- velocity_spike: a referrer person's referrals in the last $recent_days days far above both their
-- own history (the monthly average of the $baseline_days before) and their peers (the
-- $peer_multiplier times the $peer_quantile quantile of all active referrers' recent counts).
-- Steady high volume (a power recruiter) is not a spike: it is their own history.
WITH
bounds AS (
    SELECT as_of + INTERVAL 1 DAY AS recent_end,
           as_of + INTERVAL 1 DAY - to_days(CAST($recent_days AS INTEGER)) AS recent_start,
           as_of + INTERVAL 1 DAY - to_days(CAST($recent_days + $baseline_days AS INTEGER)) AS baseline_start
    FROM run_context
),
per_referrer AS (
    SELECT
        f.referrer_person_id,
        max(f.referrer_id) AS latest_referrer_id,
        list(DISTINCT f.referrer_id ORDER BY f.referrer_id) AS referrer_ids,
        count(*) FILTER (WHERE f.referred_at >= b.recent_start) AS recent_referrals,
        count(*) FILTER (WHERE f.referred_at >= b.baseline_start AND f.referred_at < b.recent_start) AS baseline_referrals,
        count(DISTINCT f.candidate_person_id) FILTER (WHERE f.referred_at >= b.recent_start) AS recent_candidates,
        count(*) FILTER (WHERE f.referred_at >= b.recent_start AND f.hire_id IS NOT NULL) AS recent_hires
    FROM referral_facts f
    CROSS JOIN bounds b
    WHERE f.referred_at >= b.baseline_start
    GROUP BY f.referrer_person_id
),
peers AS (
    SELECT quantile_cont(recent_referrals, $peer_quantile) AS peer_level
    FROM per_referrer
    WHERE recent_referrals > 0
),
spikes AS (
    SELECT
        r.*,
        r.baseline_referrals * $recent_days / $baseline_days AS expected_recent,
        p.peer_level
    FROM per_referrer r
    CROSS JOIN peers p
    WHERE r.recent_referrals >= $min_recent_referrals
      AND r.recent_referrals >= $min_ratio_to_own_history
                               * greatest(r.baseline_referrals * $recent_days / $baseline_days, 1.0)
      AND r.recent_referrals > $peer_multiplier * p.peer_level
)
SELECT
    'referrer' AS entity_type,
    latest_referrer_id AS entity_id,
    referrer_person_id AS person_id,
    round(least(1.0, recent_referrals / (4.0 * greatest(expected_recent, 1.0) * $min_ratio_to_own_history / 2)), 4) AS score,
    'medium' AS severity,
    to_json({
        'referrer_person_id': referrer_person_id,
        'referrer_ids': referrer_ids,
        'recent_days': $recent_days,
        'recent_referrals': recent_referrals,
        'recent_candidates': recent_candidates,
        'recent_hires': recent_hires,
        'expected_from_own_history': round(expected_recent, 2),
        'baseline_days': $baseline_days,
        'peer_level': round(peer_level, 2),
        'peer_quantile': $peer_quantile,
        'peer_multiplier': $peer_multiplier
    })::VARCHAR AS evidence
FROM spikes
