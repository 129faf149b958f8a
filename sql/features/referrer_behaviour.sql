-- How each referrer person behaves, as of the run's date: one row per person who referred at least
-- once by then, numeric features only, for the anomaly score (detectors/anomaly.py).
-- Built only on referral_facts and stints, which already hide what happened after the as-of date
-- (later referrals, hires and exits); the referrers table is read for signed_up_at only, and only for
-- accounts that existed on the as-of date.
-- Where a person has nothing to measure:
--   counts and shares of events: 0 (nothing happened);
--   medians of durations (tenure, referral-to-hire, account or profile age): NULL (not measured). The
--   anomaly model stands its fitted medians in for them (detectors/anomaly.py): a value here depends
--   on the person's own rows only, never on everybody else's, so a daily run rebuilds only the
--   persons whose rows changed (bountyguard/incremental.py) and scores only them.
-- $exit_window_days: an exit this many days or fewer after the guarantee end counts as "soon after".
-- A share of a few events says little: 1 of 1 is not 12 of 12. The *_lower_bound features are the
-- lower end of the share's 95% Wilson interval (0 when nothing was observed), so a share ranks high
-- only when it is high *and* rests on enough events (macro wilson_lower_bound, sql/macros.sql).
-- inputs: person_records, referral_facts, referrers, run_context, stints
-- config: anomaly
-- unique_key: person_id
WITH
run_day AS (
    SELECT as_of FROM run_context
),
referrals_by_person AS (
    SELECT
        f.referrer_person_id AS person_id,
        count(*) AS referrals_total,
        count(*) FILTER (WHERE CAST(f.referred_at AS DATE) > d.as_of - 30) AS referrals_30d,
        count(*) FILTER (WHERE CAST(f.referred_at AS DATE) > d.as_of - 90) AS referrals_90d,
        count(*) FILTER (WHERE CAST(f.referred_at AS DATE) > d.as_of - 365) AS referrals_365d,
        count(f.hire_id) AS placements_total,
        count(f.hire_id) FILTER (WHERE CAST(f.hired_at AS DATE) > d.as_of - 30) AS placements_30d,
        count(f.hire_id) FILTER (WHERE CAST(f.hired_at AS DATE) > d.as_of - 90) AS placements_90d,
        count(f.hire_id) FILTER (WHERE CAST(f.hired_at AS DATE) > d.as_of - 365) AS placements_365d,
        count(DISTINCT f.company_id) AS distinct_companies,
        -- network degree in the person-level referral graph
        count(DISTINCT f.candidate_person_id) AS distinct_candidates,
        min(f.referred_at) AS first_referred_at,
        -- lead time of the placements: bounty farmers and honest referrers both need a few weeks
        median(date_diff('day', f.referred_at, f.hired_at)) AS median_days_referral_to_hire
    FROM referral_facts f
    CROSS JOIN run_day d
    WHERE in_build_scope(f.referrer_person_id)  -- (a daily run: only the persons it rebuilds)
    GROUP BY f.referrer_person_id
),
placement_outcomes AS (
    -- referred hires as of the run date; tenure and exits exist only once the exit has happened
    SELECT
        s.referrer_person_id AS person_id,
        median(s.tenure_days) AS median_tenure_days,
        count(*) FILTER (WHERE s.guarantee_end <= d.as_of) AS placements_past_guarantee,
        count(*) FILTER (WHERE s.days_after_guarantee BETWEEN 0 AND $exit_window_days) AS exits_soon_after_guarantee
    FROM stints s
    CROSS JOIN run_day d
    WHERE s.referrer_person_id IS NOT NULL AND in_build_scope(s.referrer_person_id)
    GROUP BY s.referrer_person_id
),
bounty_by_candidate AS (
    SELECT referrer_person_id AS person_id, candidate_person_id, sum(bounty_amount) AS bounty
    FROM stints
    WHERE referrer_person_id IS NOT NULL AND in_build_scope(referrer_person_id)
    GROUP BY ALL
),
bounty_concentration AS (
    -- a referrer whose money comes from one candidate is a different business from one with many
    SELECT person_id, max(bounty) / nullif(sum(bounty), 0) AS top_candidate_bounty_share
    FROM bounty_by_candidate
    GROUP BY person_id
),
account_signups AS (
    SELECT p.person_id, min(r.signed_up_at) AS signed_up_at
    FROM person_records p
    JOIN referrers r ON r.referrer_id = p.record_id
    WHERE p.record_type = 'referrer' AND in_build_scope(p.person_id)
      AND CAST(r.signed_up_at AS DATE) <= (SELECT as_of FROM run_day)
    GROUP BY p.person_id
),
measured AS (
    SELECT
        r.person_id,
        r.referrals_30d, r.referrals_90d, r.referrals_365d, r.referrals_total,
        r.placements_30d, r.placements_90d, r.placements_365d, r.placements_total,
        r.placements_total / r.referrals_total AS conversion_rate,
        wilson_lower_bound(r.placements_total, r.referrals_total) AS conversion_rate_lower_bound,
        r.distinct_companies,
        r.distinct_candidates,
        o.median_tenure_days,
        coalesce(o.exits_soon_after_guarantee, 0) AS exits_soon_after_guarantee,
        coalesce(o.exits_soon_after_guarantee / nullif(o.placements_past_guarantee, 0), 0)
            AS exit_soon_after_guarantee_share,
        wilson_lower_bound(coalesce(o.exits_soon_after_guarantee, 0), coalesce(o.placements_past_guarantee, 0))
            AS exit_soon_after_guarantee_share_lower_bound,
        r.median_days_referral_to_hire,
        greatest(0, date_diff('day', a.signed_up_at, r.first_referred_at)) AS account_age_days_at_first_referral,
        coalesce(b.top_candidate_bounty_share, 0) AS top_candidate_bounty_share
    FROM referrals_by_person r
    LEFT JOIN placement_outcomes o USING (person_id)
    LEFT JOIN bounty_concentration b USING (person_id)
    LEFT JOIN account_signups a USING (person_id)
)
SELECT
    m.person_id,
    CAST(m.referrals_30d AS DOUBLE) AS referrals_30d,
    CAST(m.referrals_90d AS DOUBLE) AS referrals_90d,
    CAST(m.referrals_365d AS DOUBLE) AS referrals_365d,
    CAST(m.referrals_total AS DOUBLE) AS referrals_total,
    CAST(m.placements_30d AS DOUBLE) AS placements_30d,
    CAST(m.placements_90d AS DOUBLE) AS placements_90d,
    CAST(m.placements_365d AS DOUBLE) AS placements_365d,
    CAST(m.placements_total AS DOUBLE) AS placements_total,
    CAST(m.conversion_rate AS DOUBLE) AS conversion_rate,
    CAST(m.conversion_rate_lower_bound AS DOUBLE) AS conversion_rate_lower_bound,
    CAST(m.distinct_companies AS DOUBLE) AS distinct_companies,
    CAST(m.distinct_candidates AS DOUBLE) AS distinct_candidates,
    CAST(m.median_tenure_days AS DOUBLE) AS median_tenure_days,
    CAST(m.exits_soon_after_guarantee AS DOUBLE) AS exits_soon_after_guarantee,
    CAST(m.exit_soon_after_guarantee_share AS DOUBLE) AS exit_soon_after_guarantee_share,
    CAST(m.exit_soon_after_guarantee_share_lower_bound AS DOUBLE) AS exit_soon_after_guarantee_share_lower_bound,
    CAST(m.median_days_referral_to_hire AS DOUBLE) AS median_days_referral_to_hire,
    CAST(m.account_age_days_at_first_referral AS DOUBLE) AS account_age_days_at_first_referral,
    CAST(m.top_candidate_bounty_share AS DOUBLE) AS top_candidate_bounty_share
FROM measured m
ORDER BY m.person_id
