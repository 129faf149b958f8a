-- The published links: every link of this resolution, exact and probabilistic, with its evidence.
CREATE OR REPLACE TABLE person_links AS
SELECT split_part(unique_id_l, ':', 1) AS record_type_l,
       substr(unique_id_l, strpos(unique_id_l, ':') + 1) AS record_id_l,
       split_part(unique_id_r, ':', 1) AS record_type_r,
       substr(unique_id_r, strpos(unique_id_r, ':') + 1) AS record_id_r,
       rule, match_probability, evidence
FROM identity_all_links
ORDER BY record_type_l, record_id_l, record_type_r, record_id_r, rule;
