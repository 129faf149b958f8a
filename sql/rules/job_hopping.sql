-- job_hopping: a candidate person with many short tenures at different companies within the window,
-- whoever referred them (a bounty-farmed expert with enough short stints is a job-hopper too).
-- A short tenure is one that ended within a probation period ($short_tenure_days; in Germany probation
-- is at most six months), referred or not; a fixed-term contract that simply ran out (contract_end)
-- is not a short tenure.
-- inputs: chained_stints, run_context
WITH
recent_stints AS (
    -- in_build_scope: a daily run reads only the chained candidate persons whose stints changed
    -- (detectors' flags_follow); every person otherwise
    SELECT *
    FROM chained_stints
    WHERE started_at >= (SELECT as_of FROM run_context) - to_months(CAST($window_months AS INTEGER))
      AND in_build_scope(candidate_person_id)
),
short_stints AS (
    SELECT *
    FROM recent_stints
    WHERE ended_at IS NOT NULL
      AND tenure_days < $short_tenure_days
      AND end_reason IS DISTINCT FROM 'contract_end'
),
hoppers AS (
    SELECT
        candidate_person_id,
        count(*) AS short_stints,
        count(DISTINCT company_id) AS companies,
        round(median(tenure_days), 1) AS median_tenure_days,
        -- the record of the latest stint (ties: the higher id); max(x ORDER BY y) would be the highest id
        arg_max(candidate_id, (started_at, candidate_id)) AS latest_candidate_id,
        list(DISTINCT candidate_id ORDER BY candidate_id) AS candidate_ids,
        list(DISTINCT chained_from ORDER BY chained_from) FILTER (WHERE chained_from IS NOT NULL)
            AS chained_persons,
        list({
            'hire_id': hire_id, 'candidate_id': candidate_id, 'company_id': company_id, 'company': company_name,
            'referral_id': referral_id, 'referrer_id': referrer_id, 'started_at': started_at,
            'ended_at': ended_at, 'tenure_days': tenure_days, 'end_reason': end_reason,
            'guarantee_end': guarantee_end
        } ORDER BY started_at, hire_id) AS stints
    FROM short_stints
    GROUP BY candidate_person_id
    HAVING count(*) >= $min_short_stints AND count(DISTINCT company_id) >= $min_companies
)
SELECT
    'candidate' AS entity_type,
    latest_candidate_id AS entity_id,
    candidate_person_id AS person_id,
    round(least(1.0, short_stints / (2.0 * $min_short_stints)), 4) AS score,
    'medium' AS severity,
    to_json({
        'candidate_person_id': candidate_person_id,
        'candidate_ids': candidate_ids,
        -- persons identity resolution kept apart, joined here by name and city (chained_stints)
        'chained_persons': coalesce(chained_persons, []),
        'short_stints': short_stints,
        'companies': companies,
        'median_tenure_days': median_tenure_days,
        'short_tenure_days_threshold': $short_tenure_days,
        'stints': stints
    })::VARCHAR AS evidence
FROM hoppers
