-- Which records a resolution scores probabilistic links for: the touched ones. A record is touched when
-- it is new, or anything Splink compares or blocks on changed since the last resolution (its keys, its
-- rarest name part, any of its capped block keys: a new record can push a block over max_block_size and
-- so change the block keys of records nobody edited). A record the last resolution scored and no longer
-- present (removed, or without a name now) is touched too: its links are dropped. Untouched records
-- compare exactly as they did, so the links among them are the last resolution's (identity_kept_links);
-- every pair with a touched record is scored again. $incremental = false: every record is touched (a
-- full resolution).
CREATE OR REPLACE TEMP TABLE identity_record_digests AS
SELECT unique_id, hash(s) AS row_digest FROM identity_splink_input s;

CREATE OR REPLACE TEMP TABLE identity_scoring_input AS
SELECT s.*,
       NOT $incremental OR NOT EXISTS (
           SELECT 1 FROM identity_scored_records p
           WHERE p.unique_id = s.unique_id AND p.row_digest = d.row_digest) AS bg_touched
FROM identity_splink_input s JOIN identity_record_digests d USING (unique_id);

CREATE OR REPLACE TEMP TABLE identity_kept_links AS
SELECT l.*
FROM identity_fuzzy_link_state l
JOIN identity_scoring_input a ON a.unique_id = l.unique_id_l AND NOT a.bg_touched
JOIN identity_scoring_input b ON b.unique_id = l.unique_id_r AND NOT b.bg_touched
WHERE $incremental;
