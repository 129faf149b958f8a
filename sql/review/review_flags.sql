-- The run's flags, each with the person whose case it belongs to: the flag's own person, else the
-- person behind the record it names (a hire's candidate, a referral's or payout's referrer).
-- `holds`: the flag's severity holds payouts ([decisions] hold_severities), so it opens a case.
-- inputs: flags, payouts, person_records, referral_facts, stints
-- config: decisions
SELECT
    f.flag_id,
    f.pattern,
    f.entity_type,
    f.entity_id,
    coalesce(f.person_id, hs.candidate_person_id, rf.referrer_person_id, pp.person_id, rp.person_id) AS person_id,
    f.score,
    f.severity,
    f.evidence,
    list_contains($hold_severities, f.severity) AS holds
FROM flags f
LEFT JOIN stints hs ON f.entity_type = 'hire' AND hs.hire_id = f.entity_id
LEFT JOIN referral_facts rf ON f.entity_type = 'referral' AND rf.referral_id = f.entity_id
LEFT JOIN payouts py ON f.entity_type = 'payout' AND py.payout_id = f.entity_id
LEFT JOIN person_records pp ON pp.record_type = 'referrer' AND pp.record_id = py.referrer_id
LEFT JOIN person_records rp ON rp.record_type = f.entity_type AND rp.record_id = f.entity_id
WHERE f.run_id = $run_id
