-- The records an incremental resolution's exact links treat as touched (new, removed, or another
-- digest of what a link compares than at the last resolution: sql/identity/exact_links.sql), and the
-- key groups to pair again: every key a touched record holds now or held then. Only the records
-- whose keyed row changed since the last completed resolution (identity_changed_records) can differ
-- from the kept state, so only they are compared: not every record's digest, every day.
CREATE OR REPLACE TEMP TABLE identity_exact_touched AS
WITH
journal AS (
    SELECT DISTINCT unique_id FROM identity_changed_records
),
records_now AS (
    SELECT unique_id, digest FROM identity_exact_input WHERE unique_id IN (SELECT unique_id FROM journal)
),
records_kept AS (
    SELECT unique_id, digest FROM identity_exact_records WHERE unique_id IN (SELECT unique_id FROM journal)
)
SELECT coalesce(n.unique_id, k.unique_id) AS unique_id
FROM records_now n FULL JOIN records_kept k ON k.unique_id = n.unique_id
WHERE n.unique_id IS NULL OR k.unique_id IS NULL OR n.digest <> k.digest;

CREATE OR REPLACE TEMP TABLE identity_exact_groups AS
WITH
held_keys AS (
    -- the keys a touched record holds now, and those it held at the last resolution
    SELECT email_hash, profile_hash, phone_hash, iban_hash FROM identity_exact_input
    WHERE unique_id IN (SELECT unique_id FROM identity_exact_touched)
    UNION ALL
    SELECT email_hash, profile_hash, phone_hash, iban_hash FROM identity_exact_records
    WHERE unique_id IN (SELECT unique_id FROM identity_exact_touched)
)
SELECT DISTINCT key_kind, key_hash FROM (
    SELECT 'email' AS key_kind, email_hash AS key_hash FROM held_keys
    UNION ALL SELECT 'profile', profile_hash FROM held_keys
    UNION ALL SELECT 'phone', phone_hash FROM held_keys
    UNION ALL SELECT 'iban', iban_hash FROM held_keys
)
WHERE key_hash IS NOT NULL;
