-- Every referrer and candidate record once, with its normalised identity keys.
-- bg_* are the Python normalisers of bountyguard/normalize.py registered as DuckDB functions.
CREATE OR REPLACE TEMP TABLE identity_keyed AS
WITH raw_records AS (
    SELECT 'referrer' AS record_type, referrer_id AS record_id, full_name, email, phone,
           payout_iban, birth_date, city, NULL::VARCHAR AS profile_url
    FROM referrers
    UNION ALL
    SELECT 'candidate', candidate_id, full_name, email, phone,
           NULL::VARCHAR, birth_date, city, profile_url
    FROM candidates
),
keyed AS (
    SELECT record_type, record_id,
           record_type || ':' || record_id AS unique_id,
           bg_name_key(full_name) AS name_key,
           bg_email_key(email) AS email_key,
           bg_phone_key(phone, city) AS phone_key,
           -- the same number typed with and without country code on a record without a city
           bg_phone_national_key(phone, city) AS phone_national,
           bg_iban_key(payout_iban) AS iban_key,
           birth_date,
           bg_city_key(city) AS city_key,
           bg_profile_key(profile_url) AS profile_key
    FROM raw_records
)
SELECT *,
       -- token lists and both token orders: a typo in a first letter can change the sorted order
       string_split(name_key, ' ') AS name_tokens,
       array_to_string(list_reverse(string_split(name_key, ' ')), ' ') AS name_key_reversed,
       string_split(name_key, ' ')[1] AS name_first,
       string_split(name_key, ' ')[-1] AS name_last,
       year(birth_date) AS birth_year,
       strftime(birth_date, '%m-%d') AS birth_month_day
FROM keyed;
