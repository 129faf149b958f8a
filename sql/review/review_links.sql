-- Why the records of a case's person were merged: each link between two of its records, with the
-- rule (which shared key, or the probabilistic match) and its match probability.
-- inputs: person_links, person_records, review_cases
SELECT pl.person_id, l.record_type_l, l.record_id_l, l.record_type_r, l.record_id_r, l.rule,
       l.match_probability, l.evidence
FROM person_links l
JOIN person_records pl ON pl.record_type = l.record_type_l AND pl.record_id = l.record_id_l
JOIN person_records pr ON pr.record_type = l.record_type_r AND pr.record_id = l.record_id_r
WHERE pl.person_id = pr.person_id
  AND pl.person_id IN (SELECT person_id FROM review_cases)
