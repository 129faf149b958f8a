-- The published rows of the records in identity_person_nodes (every record in a full resolution),
-- clustered by identity_clusters. person_id depends only on the cluster's members (its smallest
-- 'type:id'), so the same input gives the same ids run after run; a cluster lies wholly inside the
-- nodes (sql/identity/person_changes.sql), so its smallest member is among them.
CREATE OR REPLACE TEMP TABLE identity_person_rows AS
WITH clustered AS (
    SELECT k.*, coalesce(c.cluster_id, k.unique_id) AS cluster_id
    FROM identity_keyed k
    JOIN identity_person_nodes USING (unique_id)
    LEFT JOIN identity_clusters c USING (unique_id)
),
anchored AS (
    SELECT *, min(unique_id) OVER (PARTITION BY cluster_id) AS anchor_id FROM clustered
)
SELECT record_type, record_id,
       'P' || left(sha256(anchor_id), 16) AS person_id,
       name_key, email_key, phone_key, iban_key, iban_masked, birth_date, city_key, profile_key
FROM anchored;
