-- The Splink input identity resolution keeps between runs (bountyguard/identity/kept_input.py) holds
-- normalised names. After a `forget`, the whole of it goes, with the name-part counts it was kept
-- with: the next resolution builds it again from the erased data. So do the kept exact links and
-- their records' keys (sql/identity/exact_links.sql): the next resolution pairs every key group. (An ingest's repeated erasure needs
-- nothing here: it overwrites the restored values before any resolution reads them.)
DROP TABLE IF EXISTS identity_splink_rows;
DELETE FROM identity_input_state;
DELETE FROM identity_token_counts;
DELETE FROM identity_exact_state;
DELETE FROM identity_exact_records;
DELETE FROM identity_exact_link_state;
-- The chains of re-registered candidates (sql/features/stint_names.sql, stint_chains.sql) are kept by
-- normalised name: they go too, and the next run builds the feature tables in full (the state row
-- goes with them: bountyguard/privacy.py calls incremental.forget).
DROP TABLE IF EXISTS stint_names;
DROP TABLE IF EXISTS stint_chains;
