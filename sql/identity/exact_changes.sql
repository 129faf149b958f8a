-- The records an incremental resolution's exact links treat as touched (new, removed, or another
-- digest of what a link compares than at the last resolution: sql/identity/exact_links.sql), and the
-- key groups to pair again: every key a touched record holds now or held then.
CREATE OR REPLACE TEMP TABLE identity_exact_touched AS
SELECT i.unique_id FROM identity_exact_input i
WHERE NOT EXISTS (SELECT 1 FROM identity_exact_records s WHERE s.unique_id = i.unique_id AND s.digest = i.digest)
UNION
SELECT s.unique_id FROM identity_exact_records s
WHERE NOT EXISTS (SELECT 1 FROM identity_exact_input i WHERE i.unique_id = s.unique_id);

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
