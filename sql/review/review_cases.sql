-- One case per person with at least one holding flag in this run (a case opens when a person
-- first has a holding flag). Money at stake: the amounts of the person's payouts (as referrer or as
-- candidate) that this run did not release. `evidence_patterns` and `evidence_records` are what a
-- dismissal is measured against: a dismissed case reopens only when one of them gains a member (a new
-- pattern, or a new flagged record, payout or identity record), never when the same flags recur.
-- `opened_as_of`: the as-of date of the earliest run in which the person had a holding flag.
-- inputs: flags, person_records, referrers, candidates, review_flags, review_payouts, run_context, runs
-- config: decisions
WITH
case_flags AS (
    SELECT person_id,
           list_sort(list_distinct(list(pattern))) AS patterns,
           max(CASE severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) AS severity_rank,
           max(score) AS score,
           count(*) AS flag_count,
           list_sort(list_distinct(list(entity_type || ':' || entity_id))) AS flagged_records
    FROM review_flags
    WHERE person_id IS NOT NULL
    GROUP BY person_id
    HAVING bool_or(holds)
),
person_payouts AS (
    SELECT referrer_person_id AS person_id, payout_id, amount, currency, decision FROM review_payouts
    UNION
    SELECT candidate_person_id, payout_id, amount, currency, decision FROM review_payouts
    WHERE candidate_person_id IS NOT NULL
),
money AS (
    SELECT person_id,
           coalesce(sum(amount) FILTER (WHERE decision IN ('hold', 'void', 'clawback')), 0) AS at_stake,
           coalesce(sum(amount) FILTER (WHERE decision = 'hold'), 0) AS held,
           count(*) FILTER (WHERE decision IS NOT NULL) AS decided_payouts,
           list_sort(list_distinct(list('payout:' || payout_id))) AS payout_records,
           CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) ELSE 'mixed' END AS currency
    FROM person_payouts
    WHERE person_id IN (SELECT person_id FROM case_flags)
    GROUP BY person_id
),
records AS (
    SELECT pr.person_id,
           list_sort(list(pr.record_type || ':' || pr.record_id)) AS identity_records,
           list_sort(list_distinct(list(pr.record_type))) AS roles,
           min(coalesce(r.full_name, c.full_name)) AS display_name
    FROM person_records pr
    LEFT JOIN referrers r ON pr.record_type = 'referrer' AND r.referrer_id = pr.record_id
    LEFT JOIN candidates c ON pr.record_type = 'candidate' AND c.candidate_id = pr.record_id
    WHERE pr.person_id IN (SELECT person_id FROM case_flags)
    GROUP BY pr.person_id
),
first_opened AS (
    SELECT f.person_id, min(r.as_of) AS opened_as_of
    FROM flags f JOIN runs r ON r.run_id = f.run_id
    WHERE list_contains($hold_severities, f.severity)
      AND r.as_of <= (SELECT as_of FROM run_context)
      AND f.person_id IN (SELECT person_id FROM case_flags)
    GROUP BY f.person_id
)
SELECT
    cf.person_id,
    coalesce(rec.display_name, cf.person_id) AS display_name,
    coalesce(rec.roles, []) AS roles,
    cf.patterns,
    CASE cf.severity_rank WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END AS severity,
    cf.severity_rank,
    round(cf.score, 4) AS score,
    cf.flag_count,
    coalesce(m.at_stake, 0)::DECIMAL(14, 2) AS at_stake,
    coalesce(m.held, 0)::DECIMAL(14, 2) AS held,
    coalesce(m.currency, '') AS currency,
    coalesce(m.decided_payouts, 0) AS decided_payouts,
    cf.patterns AS evidence_patterns,
    list_sort(list_distinct(list_concat(cf.flagged_records, coalesce(m.payout_records, []),
                                        coalesce(rec.identity_records, [])))) AS evidence_records,
    coalesce(fo.opened_as_of, (SELECT as_of FROM run_context)) AS opened_as_of,
    (SELECT as_of FROM run_context) - coalesce(fo.opened_as_of, (SELECT as_of FROM run_context)) AS age_days
FROM case_flags cf
LEFT JOIN money m USING (person_id)
LEFT JOIN records rec USING (person_id)
LEFT JOIN first_opened fo USING (person_id)
