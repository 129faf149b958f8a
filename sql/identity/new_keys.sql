-- Cache the keys of one batch of raw values not cached yet (identity_new_values, sql/identity/records.sql).
-- identity_normalised_batch holds the batch's rows with the key normalize.keys_of gave each
-- (bountyguard/identity/resolve.py runs it in as many processes as there are cores); the e-mail,
-- phone and IBAN keys are stored only as keyed hashes. Batches, each committed on its own: a first
-- load at ten million referrals brings some 26 million new values, and DuckDB keeps an uncommitted
-- insert in memory until its commit, which then failed under a memory limit ("could not allocate
-- block", 6.5 GiB of 6.5 GiB). A batch that is interrupted leaves the cache consistent: a later run
-- normalises what is still missing.
INSERT INTO identity_key_hashes
SELECT $keys_version, $matching_key_id, kind, raw_hash, context,
       CASE WHEN kind IN ('email', 'phone', 'phone_national', 'iban') THEN bg_matching_hash(normalised)
            ELSE normalised END
FROM identity_normalised_batch;
