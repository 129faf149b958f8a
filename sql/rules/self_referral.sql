-- self_referral: the referrer and the referred candidate are the same person (after identity
-- resolution: an alias e-mail, a transliterated name or a reformatted phone does not hide it).
-- One flag per referral; the evidence names the link that made the two records one person.
-- inputs: person_links, referral_facts
WITH
self_referrals AS (
    SELECT *
    FROM referral_facts
    WHERE referrer_person_id = candidate_person_id
),
direct_links AS (
    -- person_links stores each pair once, in either order: one equi-join per order
    SELECT s.referral_id, l.rule, l.match_probability, l.evidence
    FROM self_referrals s
    JOIN person_links l
      ON l.record_type_l = 'referrer' AND l.record_id_l = s.referrer_id
     AND l.record_type_r = 'candidate' AND l.record_id_r = s.candidate_id
    UNION ALL
    SELECT s.referral_id, l.rule, l.match_probability, l.evidence
    FROM self_referrals s
    JOIN person_links l
      ON l.record_type_r = 'referrer' AND l.record_id_r = s.referrer_id
     AND l.record_type_l = 'candidate' AND l.record_id_l = s.candidate_id
),
link_evidence AS (
    SELECT referral_id,
           list({'rule': rule, 'match_probability': match_probability, 'evidence': evidence}
                ORDER BY rule, evidence) AS links
    FROM direct_links
    GROUP BY referral_id
)
SELECT
    'referral' AS entity_type,
    s.referral_id AS entity_id,
    s.referrer_person_id AS person_id,
    CASE WHEN s.hire_id IS NOT NULL THEN 1.0 ELSE 0.8 END AS score,
    'high' AS severity,
    to_json({
        'person_id': s.referrer_person_id,
        'referral_id': s.referral_id,
        'referrer_id': s.referrer_id,
        'candidate_id': s.candidate_id,
        'job_id': s.job_id,
        'company_id': s.company_id,
        'referred_at': s.referred_at,
        'hire_id': s.hire_id,
        'payout_id': s.payout_id,
        'direct_links': coalesce(e.links, [])
    })::VARCHAR AS evidence
FROM self_referrals s
LEFT JOIN link_evidence e USING (referral_id)
