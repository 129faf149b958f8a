-- Erase the personal data of the forgotten records in forgotten_now (sql/privacy/forgotten_now.sql)
-- from the current state. Ids, dates of events, amounts, flags, decisions and audit trails stay: they
-- are the business record, not the person. Run by `forget` and by every ingest (inside its
-- transaction), after the upserts.

-- cached normalised keys of the erased raw values (the cache is keyed by the raw value's keyed hash,
-- bg_matching_hash: bountyguard/matching_keys.py)
DELETE FROM identity_key_hashes WHERE raw_hash IN (
    SELECT bg_matching_hash(raw) FROM (
        SELECT unnest([full_name, email, phone, payout_iban]) AS raw FROM referrers
        WHERE referrer_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'referrer')
        UNION ALL
        SELECT unnest([full_name, email, phone, profile_url]) FROM candidates
        WHERE candidate_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'candidate'))
    WHERE raw IS NOT NULL
);

-- the keys identity resolution stored per record (the values change below, so a run looks them up
-- again; what is stored for the old values must not stay)
DELETE FROM identity_record_keys
WHERE (record_type, record_id) IN (SELECT (record_type, record_id) FROM forgotten_now);

UPDATE referrers
SET full_name = '[forgotten]', email = NULL, phone = NULL, payout_iban = NULL, birth_date = NULL, city = NULL
WHERE referrer_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'referrer');

UPDATE candidates
SET full_name = '[forgotten]', email = NULL, phone = NULL, birth_date = NULL, city = NULL, profile_url = NULL
WHERE candidate_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'candidate');

-- where a forgotten person clicked from is personal data too
UPDATE referrals SET ip_address = NULL, device_id = NULL
WHERE referrer_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'referrer')
   OR candidate_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'candidate');
