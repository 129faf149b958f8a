-- Normalise one batch of the raw values not cached yet (identity_new_values, sql/identity/records.sql) and
-- cache their keys. Batches, each committed on its own: a first load at ten million referrals brings
-- some 26 million new values, and DuckDB keeps an uncommitted insert in memory until its commit, which
-- then failed under a memory limit ("could not allocate block", 6.5 GiB of 6.5 GiB). A batch that
-- is interrupted leaves the cache consistent: a later run normalises what is still missing.
INSERT INTO identity_key_hashes
SELECT $keys_version, $matching_key_id, kind, raw_hash, context, CASE kind
    WHEN 'name' THEN bg_name_key(raw)
    WHEN 'email' THEN bg_matching_hash(bg_email_key(raw))
    WHEN 'phone' THEN bg_matching_hash(bg_phone_key(raw, city))
    WHEN 'phone_national' THEN bg_matching_hash(bg_phone_national_key(raw, city))
    WHEN 'iban' THEN bg_matching_hash(bg_iban_key(raw))
    WHEN 'iban_masked' THEN bg_iban_masked(raw)
    WHEN 'city' THEN bg_city_key(raw)
    WHEN 'profile' THEN bg_profile_key(raw)
END
FROM identity_new_values
WHERE batch_no = $batch_no;

