-- The anomaly flags of one population ($entity: referrer or candidate), highest score first (the
-- person id breaks ties: identical inputs, identical flags), at most $max_flags of them (NULL: no
-- cap). Each flag's evidence is the parts kept beside its score (anomaly_explanations: written when
-- the person was scored, detectors/anomaly.py) with the day's rank, population and record ids, put
-- together as the JSON text json.dumps(sort_keys=True) writes (ids outside ASCII stay UTF-8 rather
-- than \u escapes): the flags of a population of millions never pass through Python one by one.
-- The scores of persons no longer in the population were deleted when the changed were scored.
-- A score above the bar without its kept evidence gives a NULL evidence: the detector fails the run.
-- inputs: anomaly_scores, anomaly_explanations, person_records, referral_facts
WITH
flagged AS (
    SELECT s.person_id, e.flag_score, e.score_json, e.model_scores_json, e.top_features_json,
           row_number() OVER (ORDER BY s.score DESC, s.person_id) AS rank
    FROM anomaly_scores AS s
    LEFT JOIN anomaly_explanations AS e USING (entity, person_id)
    WHERE s.entity = $entity AND s.score >= $bar
    QUALIFY $max_flags IS NULL OR rank <= $max_flags
),
flagged_records AS (
    -- all records of each flagged person: from identity resolution, and from the facts for persons
    -- that fell back to one record (person id 'referrer:<id>')
    SELECT DISTINCT person_id, record_id
    FROM (
        SELECT person_id, record_id FROM person_records WHERE record_type = $entity
        UNION ALL
        SELECT CASE $entity WHEN 'referrer' THEN referrer_person_id ELSE candidate_person_id END,
               CASE $entity WHEN 'referrer' THEN referrer_id ELSE candidate_id END
        FROM referral_facts
    )
    WHERE person_id IN (SELECT person_id FROM flagged)
),
record_ids AS (
    SELECT person_id, min(record_id) AS first_record_id,
           '[' || string_agg(to_json(record_id)::VARCHAR, ', ' ORDER BY record_id) || ']' AS ids_json
    FROM flagged_records
    GROUP BY person_id
)
SELECT
    $entity AS entity_type,
    r.first_record_id AS entity_id,
    f.person_id,
    f.flag_score AS score,
    CASE WHEN $hold_threshold IS NOT NULL AND f.flag_score >= $hold_threshold THEN 'medium' ELSE 'low' END
        AS severity,
    -- the keys in sorted order; the record ids' key ("candidate_ids", "referrer_ids") sorts by its name
    '{'
    || CASE $entity WHEN 'candidate' THEN '"candidate_ids": ' || r.ids_json || ', ' ELSE '' END
    || '"features_table": ' || $features_table
    || ', "flagged_share": ' || $flagged_share
    || ', "model_scores": ' || f.model_scores_json
    || ', "person_id": ' || to_json(f.person_id)::VARCHAR
    || ', "population": ' || $population
    || ', "rank": ' || f.rank::VARCHAR
    || CASE $entity WHEN 'referrer' THEN ', "referrer_ids": ' || r.ids_json ELSE '' END
    || ', "score": ' || f.score_json
    || ', "top_features": ' || f.top_features_json
    || '}' AS evidence
FROM flagged AS f
JOIN record_ids AS r USING (person_id)  -- a person without records names none: no flag
ORDER BY f.rank
