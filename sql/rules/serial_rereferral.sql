-- serial_rereferral: one person placed through referrals again and again, each stint ending shortly
-- after its guarantee period (the bounty-farming scheme: referrer and expert split each bounty).
-- Flags the candidate person, and every referrer person who placed that candidate in a stint that ended
-- shortly after its guarantee (colluding referrers often take turns, each placing the expert once).
-- inputs: chained_stints, run_context
WITH
referred_stints AS (
    SELECT *,
           days_after_guarantee BETWEEN 0 AND $days_after_guarantee AS exit_after_guarantee
    FROM chained_stints
    WHERE referral_id IS NOT NULL
      AND started_at >= (SELECT as_of FROM run_context) - to_months(CAST($window_months AS INTEGER))
      -- in_build_scope: a daily run reads only the persons whose flags may have changed (detectors'
      -- flags_follow): the candidates among them, and every candidate a referrer among them placed
      -- (a referrer's flag reads each such candidate's placements); every person otherwise
      AND (in_build_scope(candidate_person_id)
           OR candidate_person_id IN (SELECT candidate_person_id FROM chained_stints
                                      WHERE in_build_scope(referrer_person_id)))
),
farmed_counts AS (
    -- the thresholds on counts alone first: building every candidate's list of stints before the
    -- HAVING cost most of the rule (at one million referrals, lists for 186,000 persons to keep a few)
    SELECT
        candidate_person_id,
        count(*) AS placements,
        count(DISTINCT company_id) AS companies,
        count(*) FILTER (WHERE exit_after_guarantee) AS exits_after_guarantee
    FROM referred_stints
    GROUP BY candidate_person_id
    HAVING count(*) >= $min_placements
       AND count(*) FILTER (WHERE exit_after_guarantee) >= $min_exits_after_guarantee
       -- the rhythm is the scheme: a farmed expert never leaves before the guarantee end (the bounty
       -- would be lost), so most ended stints end just after it; a job-hopper's exits after a
       -- guarantee end are a coincidence among early and late ones
       AND count(*) FILTER (WHERE exit_after_guarantee)
           >= $min_share_of_exits_after_guarantee * count(*) FILTER (WHERE ended_at IS NOT NULL)
       AND count(DISTINCT company_id) >= 2
),
farmed_candidates AS (
    SELECT
        candidate_person_id,
        any_value(c.placements) AS placements,
        any_value(c.companies) AS companies,
        any_value(c.exits_after_guarantee) AS exits_after_guarantee,
        -- the record of the latest placement (ties: the higher id); max(x ORDER BY y) would be the highest id
        arg_max(candidate_id, (started_at, candidate_id)) AS latest_candidate_id,
        list(DISTINCT candidate_id ORDER BY candidate_id) AS candidate_ids,
        list(DISTINCT chained_from ORDER BY chained_from) FILTER (WHERE chained_from IS NOT NULL)
            AS chained_persons,
        list({
            'hire_id': hire_id, 'candidate_id': candidate_id, 'referral_id': referral_id,
            'referrer_id': referrer_id, 'payout_id': payout_id, 'company_id': company_id,
            'company': company_name, 'started_at': started_at, 'ended_at': ended_at,
            'guarantee_end': guarantee_end, 'days_after_guarantee_end': days_after_guarantee,
            'bounty_amount': bounty_amount, 'currency': currency
        } ORDER BY started_at, hire_id) AS stints
    FROM referred_stints
    JOIN farmed_counts c USING (candidate_person_id)
    GROUP BY candidate_person_id
),
candidate_flags AS (
    SELECT
        'candidate' AS entity_type,
        latest_candidate_id AS entity_id,
        candidate_person_id AS person_id,
        round(least(1.0, 0.5 + 0.5 * exits_after_guarantee / placements), 4) AS score,
        'high' AS severity,
        to_json({
            'candidate_person_id': candidate_person_id,
            'candidate_ids': candidate_ids,
            -- persons identity resolution kept apart, joined here by name and city (chained_stints)
            'chained_persons': coalesce(chained_persons, []),
            'placements': placements,
            'companies': companies,
            'exits_within_days_after_guarantee': exits_after_guarantee,
            'days_after_guarantee_threshold': $days_after_guarantee,
            'stints': stints
        })::VARCHAR AS evidence
    FROM farmed_candidates
),
colluding_referrers AS (
    SELECT
        s.referrer_person_id,
        f.candidate_person_id,
        arg_max(s.referrer_id, (s.referred_at, s.referrer_id)) AS latest_referrer_id,
        max(s.referred_at) AS latest_referred_at,
        list(DISTINCT s.referrer_id ORDER BY s.referrer_id) AS referrer_ids,
        count(*) AS placements_of_candidate,
        any_value(f.placements) AS candidate_placements,
        any_value(f.exits_after_guarantee) AS exits_after_guarantee,
        any_value(f.stints) AS stints
    FROM referred_stints s
    JOIN farmed_candidates f USING (candidate_person_id)
    GROUP BY s.referrer_person_id, f.candidate_person_id
    -- a group of referrers may take turns: each one who placed the farmed candidate in a stint that
    -- ended just after its guarantee took part in the rhythm, even if only once
    HAVING count(*) FILTER (WHERE s.exit_after_guarantee) >= 1
),
referrer_flags AS (
    SELECT
        'referrer' AS entity_type,
        arg_max(latest_referrer_id, (latest_referred_at, latest_referrer_id)) AS entity_id,
        referrer_person_id AS person_id,
        round(least(1.0, 0.5 + 0.5 * max(exits_after_guarantee / candidate_placements)), 4) AS score,
        'high' AS severity,
        to_json({
            'referrer_person_id': referrer_person_id,
            'referrer_ids': list_sort(list_distinct(flatten(list(referrer_ids)))),
            'farmed_candidates': list({
                'candidate_person_id': candidate_person_id,
                'placements_by_this_referrer': placements_of_candidate,
                'stints': stints
            } ORDER BY candidate_person_id)
        })::VARCHAR AS evidence
    FROM colluding_referrers
    GROUP BY referrer_person_id
)
SELECT * FROM candidate_flags
UNION ALL
SELECT * FROM referrer_flags
