-- The review queue over a published run's snapshot (bountyguard/review/snapshot.py): each case with
-- its status from the analysts' latest case decision (case_state, from the review store):
--   confirmed  the latest decision confirmed it;
--   dismissed  the latest decision dismissed it and the case has no pattern and no record that the
--              dismissal did not see (the same flags computed again do not reopen it);
--   open       otherwise (never decided, or new evidence since the dismissal: reopened).
-- Sorted by money at stake, then score; filtered and paginated here, in SQL, so a page costs the
-- same with 100,000 flags as with 100. Every filter is a parameter; NULL means "any".
-- Not a pipeline model: read by bountyguard/review/cases.py on an in-memory connection.
WITH
contacts AS (
    SELECT person_id, min(email) AS email, min(phone) AS phone, min(payout_iban) AS payout_iban
    FROM records GROUP BY person_id
),
state AS (
    SELECT c.*,
           CASE
               WHEN d.action = 'confirm' THEN 'confirmed'
               WHEN d.action = 'dismiss' AND list_has_all(d.evidence_patterns, c.evidence_patterns)
                    AND list_has_all(d.evidence_records, c.evidence_records) THEN 'dismissed'
               ELSE 'open'
           END AS status,
           d.action AS last_action,
           d.decided_by AS last_decided_by,
           d.decided_at AS last_decided_at,
           list_filter(c.patterns, lambda p: NOT list_contains(coalesce(d.evidence_patterns, []), p)) AS new_patterns
    FROM cases c
    LEFT JOIN case_state d USING (person_id)
)
SELECT s.person_id, s.display_name, s.roles, s.patterns, s.severity, s.score, s.flag_count, s.at_stake, s.held,
       s.currency, s.opened_as_of, s.age_days, s.status, s.last_action, s.last_decided_by, s.last_decided_at,
       s.new_patterns, s.evidence_patterns, s.evidence_records, k.email, k.phone, k.payout_iban,
       count(*) OVER () AS total
FROM state s
LEFT JOIN contacts k USING (person_id)
WHERE ($person_id IS NULL OR s.person_id = $person_id)
  AND ($status IS NULL OR s.status = $status)
  AND ($pattern IS NULL OR list_contains(s.patterns, $pattern))
  AND ($severity IS NULL OR s.severity = $severity)
  AND ($min_amount IS NULL OR s.at_stake >= $min_amount)
  AND ($max_amount IS NULL OR s.at_stake <= $max_amount)
  AND ($min_age_days IS NULL OR s.age_days >= $min_age_days)
  AND ($max_age_days IS NULL OR s.age_days <= $max_age_days)
ORDER BY s.at_stake DESC, s.score DESC, s.person_id
LIMIT $limit OFFSET $offset
