-- This resolution's probabilistic links (the kept ones and the newly scored ones), and the state the
-- next resolution starts from. The fingerprint row goes first and comes back last: interrupted in
-- between, the next resolution finds no valid state and resolves in full.
CREATE OR REPLACE TEMP TABLE identity_fuzzy_links AS
SELECT * FROM identity_kept_links
UNION ALL
SELECT * FROM identity_new_fuzzy_links;

DELETE FROM identity_resolution_state;

-- (touched: sql/identity/touched_records.sql; in a full resolution, every record)
DELETE FROM identity_scored_records p
WHERE NOT $incremental OR p.unique_id IN (SELECT unique_id FROM identity_touched);

INSERT INTO identity_scored_records
SELECT d.unique_id, d.row_digest
FROM identity_record_digests d
WHERE NOT $incremental OR d.unique_id IN (SELECT unique_id FROM identity_touched);

DELETE FROM identity_fuzzy_link_state l
WHERE NOT EXISTS (SELECT 1 FROM identity_kept_links k
                  WHERE k.unique_id_l = l.unique_id_l AND k.unique_id_r = l.unique_id_r);

INSERT INTO identity_fuzzy_link_state SELECT * FROM identity_new_fuzzy_links;

INSERT INTO identity_resolution_state VALUES ($fingerprint);
