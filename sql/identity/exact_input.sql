-- Each record's exact-link keys and a digest of everything an exact link compares (its keys, names,
-- birth date, city and phone: sql/identity/exact_links.sql). Keys are kept as their 64-bit hashes: a
-- collision only makes a group paired again needlessly. A view: at ten million records a table of it,
-- beside identity resolution's other working tables, ran out of memory.
CREATE OR REPLACE TEMP VIEW identity_exact_input AS
SELECT unique_id,
       CASE WHEN email_key IS NOT NULL THEN hash(email_key) END AS email_hash,
       CASE WHEN profile_key IS NOT NULL THEN hash(profile_key) END AS profile_hash,
       CASE WHEN phone_national IS NOT NULL THEN hash(phone_national) END AS phone_hash,
       CASE WHEN iban_key IS NOT NULL THEN hash(iban_key) END AS iban_hash,
       hash(email_key, profile_key, phone_national, iban_key, name_key, name_key_reversed, name_tokens,
            birth_date, city_key) AS digest
FROM identity_keyed;
