-- The published tables. person_id depends only on the cluster's members (its smallest
-- 'type:id'), so the same input gives the same ids run after run.
CREATE OR REPLACE TABLE person_records AS
WITH clustered AS (
    SELECT k.*, coalesce(c.cluster_id, k.unique_id) AS cluster_id
    FROM identity_keyed k LEFT JOIN identity_clusters c USING (unique_id)
),
anchored AS (
    SELECT *, min(unique_id) OVER (PARTITION BY cluster_id) AS anchor_id FROM clustered
)
SELECT record_type, record_id,
       'P' || left(sha256(anchor_id), 16) AS person_id,
       name_key, email_key, phone_key, iban_key, iban_masked, birth_date, city_key, profile_key
FROM anchored
ORDER BY record_type, record_id;

CREATE OR REPLACE TABLE person_links AS
SELECT split_part(unique_id_l, ':', 1) AS record_type_l,
       substr(unique_id_l, strpos(unique_id_l, ':') + 1) AS record_id_l,
       split_part(unique_id_r, ':', 1) AS record_type_r,
       substr(unique_id_r, strpos(unique_id_r, ':') + 1) AS record_id_r,
       rule, match_probability, evidence
FROM identity_all_links
ORDER BY record_type_l, record_id_l, record_type_r, record_id_r, rule;
