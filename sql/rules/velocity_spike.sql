-- velocity_spike: a referrer person who, at some time in the last $lookback_days, filed referrals far
-- above both their own history and their peers. A bounty falls due months after its referral (hiring
-- lag plus a 30 to 180 day guarantee), so a burst is judged when it happened, not only while it is
-- within the last days before the run: each referral is compared with the referrer's volume around
-- the time it was made.
--
-- A referral is part of a burst when, in the $burst_days days up to and including it, its referrer
-- person filed at least $min_burst_referrals referrals, at least $min_ratio_to_own_history times what
-- their own rate over the $baseline_days before that would give (at least one), and more than
-- $peer_multiplier times what the referrers active in that calendar month filed at their
-- $peer_quantile quantile (the median by default, which a few spikers cannot raise).
-- Own history is the referrer account's known past: a new account (signed up after the data begins)
-- has none; an older one is judged once $min_known_history_days of its baseline lie within the data.
-- Steady high volume is the referrer's own history, not a burst; a campaign week of an established
-- referrer (a few times their usual weekly volume) stays well below the ratio over $burst_days days.
-- "Around the time it was made" looks both ways: where the run already knows the $baseline_days
-- after a referral, the referrer's rate then counts as their own level too. A new account that starts
-- as it goes on (a recruiter who joins with a full pipeline) has a first month like its later ones; a
-- farmed burst is followed by silence or by the old, lower rate. A burst too recent to have an after
-- is judged on what came before it, as always.
-- inputs: referral_facts, referrers, run_context
WITH
run_day AS (
    SELECT as_of FROM run_context
),
data_start AS (
    -- the platform's data begins here: before it, nobody's history is known
    SELECT min(referred_at) AS known_from FROM referral_facts
),
bursting_referrers AS (
    -- a burst is at least $min_burst_referrals referrals within $burst_days: the windows below are
    -- counted only for referrers with such a stretch in the last $lookback_days (each count is of the
    -- person's own referrals). Counting every window for every referral was most of the rule.
    SELECT DISTINCT referrer_person_id
    FROM (SELECT referrer_person_id, referred_at,
                 count(*) OVER (PARTITION BY referrer_person_id ORDER BY referred_at
                                RANGE BETWEEN to_days(CAST($burst_days AS INTEGER)) PRECEDING AND CURRENT ROW)
                     AS burst_referrals
          FROM referral_facts)
    WHERE burst_referrals >= $min_burst_referrals
      AND referred_at >= (SELECT as_of FROM run_day) - to_days(CAST($lookback_days AS INTEGER))
),
referral_volume AS (
    SELECT
        f.referral_id, f.referrer_id, f.referrer_person_id, f.candidate_person_id, f.referred_at, f.hire_id,
        f.payout_id,
        count(*) OVER (PARTITION BY f.referrer_person_id ORDER BY f.referred_at
                       RANGE BETWEEN to_days(CAST($burst_days AS INTEGER)) PRECEDING AND CURRENT ROW)
            AS burst_referrals,
        count(*) OVER (PARTITION BY f.referrer_person_id ORDER BY f.referred_at
                       RANGE BETWEEN to_days(CAST($burst_days + $baseline_days AS INTEGER)) PRECEDING
                             AND to_days(CAST($burst_days AS INTEGER)) PRECEDING)
            AS baseline_referrals,
        -- after the referral (its own timestamp excluded): RANGE frames count peers, so subtract them
        count(*) OVER (PARTITION BY f.referrer_person_id ORDER BY f.referred_at
                       RANGE BETWEEN CURRENT ROW AND to_days(CAST($baseline_days AS INTEGER)) FOLLOWING)
        - count(*) OVER (PARTITION BY f.referrer_person_id ORDER BY f.referred_at
                         RANGE BETWEEN CURRENT ROW AND CURRENT ROW)
            AS following_referrals,
        -- the part of the baseline period in which this account's history is known: not before the
        -- account signed up (a new account has no history: all of it is its burst), not before the data
        f.referred_at - to_days(CAST($burst_days AS INTEGER)) AS burst_start,
        greatest(f.referred_at - to_days(CAST($burst_days + $baseline_days AS INTEGER)),
                 coalesce(a.signed_up_at, d.known_from)) AS history_start,
        a.signed_up_at >= d.known_from AS new_account
    FROM referral_facts f
    CROSS JOIN data_start d
    LEFT JOIN referrers a ON a.referrer_id = f.referrer_id
    WHERE f.referrer_person_id IN (SELECT referrer_person_id FROM bursting_referrers)
),
judged_volume AS (
    -- a baseline cut short by the start of the data says nothing about an older account: such a
    -- referral is judged only once $min_known_history_days of its history are known
    SELECT v.*,
           greatest(date_diff('day', greatest(v.history_start, d.known_from), v.burst_start), 0) AS known_history_days
    FROM referral_volume v
    CROSS JOIN data_start d
    WHERE v.new_account
       OR date_diff('day', greatest(v.history_start, d.known_from), v.burst_start) >= $min_known_history_days
),
monthly_volume AS (
    SELECT referrer_person_id, date_trunc('month', referred_at) AS month, count(*) AS referrals
    FROM referral_facts
    GROUP BY ALL
),
peer_level AS (
    -- what an active referrer files in a month; months are compared with months, so the level is
    -- scaled to $burst_days when a referral's window is judged
    SELECT month, quantile_cont(referrals, $peer_quantile) AS monthly_level
    FROM monthly_volume
    GROUP BY month
),
expected_volume AS (
    SELECT
        v.*,
        greatest(
            coalesce(v.baseline_referrals * $burst_days / nullif(greatest(v.known_history_days, $burst_days), 0), 0),
            -- the days after it that the run knows, up to $baseline_days (fewer than $burst_days count
            -- as $burst_days: a few days' referrals are not yet a rate)
            v.following_referrals * $burst_days
                / greatest(least(date_diff('day', v.referred_at, d.as_of), $baseline_days), $burst_days)
        ) AS expected_from_own_history,
        p.monthly_level * $burst_days / 30.0 AS peer_level
    FROM judged_volume v
    JOIN peer_level p ON p.month = date_trunc('month', v.referred_at)
    CROSS JOIN run_day d
    WHERE v.referred_at >= d.as_of - to_days(CAST($lookback_days AS INTEGER))
),
burst_referrals AS (
    SELECT *
    FROM expected_volume
    WHERE burst_referrals >= $min_burst_referrals
      AND burst_referrals >= $min_ratio_to_own_history * greatest(expected_from_own_history, 1.0)
      AND burst_referrals > $peer_multiplier * peer_level
),
burst_members AS (
    -- every referral inside a window that crossed the line belongs to the burst (only spikers' rows)
    SELECT DISTINCT f.referrer_person_id, f.referral_id, f.referrer_id, f.candidate_person_id, f.referred_at,
           f.hire_id, f.payout_id
    FROM burst_referrals b
    JOIN referral_facts f
      ON f.referrer_person_id = b.referrer_person_id
     AND f.referred_at BETWEEN b.burst_start AND b.referred_at
),
peaks AS (
    -- two windows with the same peak: the later one, whatever order the rows come in (both values
    -- follow from the person and the window's end)
    SELECT referrer_person_id, max(burst_referrals) AS peak_referrals,
           arg_max(expected_from_own_history, (burst_referrals, referred_at)) AS expected_at_peak,
           arg_max(peer_level, (burst_referrals, referred_at)) AS peer_level_at_peak
    FROM burst_referrals
    GROUP BY referrer_person_id
),
spikers AS (
    SELECT
        m.referrer_person_id,
        -- the account of the latest referral (ties: the higher id)
        arg_max(m.referrer_id, (m.referred_at, m.referrer_id)) AS latest_referrer_id,
        list(DISTINCT m.referrer_id ORDER BY m.referrer_id) AS referrer_ids,
        min(m.referred_at) AS burst_from,
        max(m.referred_at) AS burst_to,
        any_value(p.peak_referrals) AS peak_referrals,
        any_value(p.expected_at_peak) AS expected_at_peak,
        any_value(p.peer_level_at_peak) AS peer_level_at_peak,
        count(DISTINCT m.candidate_person_id) AS burst_candidates,
        count(m.hire_id) AS burst_hires,
        list(m.referral_id ORDER BY m.referred_at, m.referral_id) AS burst_referral_ids,
        list(m.payout_id ORDER BY m.payout_id) FILTER (WHERE m.payout_id IS NOT NULL) AS burst_payout_ids
    FROM burst_members m
    JOIN peaks p USING (referrer_person_id)
    GROUP BY m.referrer_person_id
)
SELECT
    'referrer' AS entity_type,
    latest_referrer_id AS entity_id,
    referrer_person_id AS person_id,
    round(least(1.0, peak_referrals / (2.0 * $min_ratio_to_own_history * greatest(expected_at_peak, 1.0))), 4)
        AS score,
    'medium' AS severity,
    to_json({
        'referrer_person_id': referrer_person_id,
        'referrer_ids': referrer_ids,
        'burst_from': burst_from,
        'burst_to': burst_to,
        'burst_days': $burst_days,
        'peak_referrals_in_burst_days': peak_referrals,
        'expected_from_own_history': round(expected_at_peak, 2),
        'baseline_days': $baseline_days,
        'peer_level': round(peer_level_at_peak, 2),
        'peer_quantile': $peer_quantile,
        'peer_multiplier': $peer_multiplier,
        'burst_candidates': burst_candidates,
        'burst_hires': burst_hires,
        'burst_referral_ids': burst_referral_ids,
        'burst_payout_ids': coalesce(burst_payout_ids, [])
    })::VARCHAR AS evidence
FROM spikers
