-- Which records a resolution scores probabilistic links for: the touched ones. A record is touched when
-- it is new, or anything Splink compares or blocks on changed since the last resolution (its keys, its
-- rarest name part, any of its capped block keys: a new record can push a block over max_block_size and
-- so change the block keys of records nobody edited). A record the last resolution scored and no longer
-- present (removed, or without a name now) is touched too: its links are dropped. Untouched records
-- compare exactly as they did, so the links among them are the last resolution's (identity_kept_links);
-- every pair with a touched record is scored again. $incremental = false: every record is touched (a
-- full resolution).
-- $journal: the kept Splink input was brought up to date rather than built (bountyguard/identity/
-- kept_input.py), so only the records noted as changed since the last completed resolution
-- (identity_changed_records: edited, removed, or with a rewritten rarest part or block key) can differ
-- from the scored state, and only they are hashed and compared.
CREATE OR REPLACE TEMP TABLE identity_record_digests AS
SELECT unique_id, hash(s) AS row_digest FROM identity_splink_input s
WHERE NOT $journal OR unique_id IN (SELECT unique_id FROM identity_changed_records);

-- The touched records of an incremental resolution, present or gone, by id only (empty in a full one):
-- a daily run touches a few thousand of ten million records, and a copy of every record's attributes
-- and block keys with a flag on it cost seconds at that size.
CREATE OR REPLACE TEMP TABLE identity_touched AS
SELECT unique_id FROM (
    SELECT d.unique_id FROM identity_record_digests d
    WHERE NOT EXISTS (SELECT 1 FROM identity_scored_records p
                      WHERE p.unique_id = d.unique_id AND p.row_digest = d.row_digest)
    UNION
    SELECT p.unique_id FROM identity_scored_records p
    WHERE (NOT $journal OR p.unique_id IN (SELECT unique_id FROM identity_changed_records))
      AND NOT EXISTS (SELECT 1 FROM identity_record_digests d WHERE d.unique_id = p.unique_id)
)
WHERE $incremental;

-- (a view cannot take a parameter: the mode is a one-row table)
CREATE OR REPLACE TEMP TABLE identity_scoring_mode AS SELECT $incremental AS incremental;

CREATE OR REPLACE TEMP VIEW identity_scoring_input AS
SELECT s.*,
       NOT (SELECT incremental FROM identity_scoring_mode)
       OR s.unique_id IN (SELECT unique_id FROM identity_touched) AS bg_touched
FROM identity_splink_input s;

CREATE OR REPLACE TEMP TABLE identity_kept_links AS
SELECT l.*
FROM identity_fuzzy_link_state l
WHERE $incremental
  AND l.unique_id_l NOT IN (SELECT unique_id FROM identity_touched)
  AND l.unique_id_r NOT IN (SELECT unique_id FROM identity_touched);
