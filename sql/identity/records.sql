-- Every referrer and candidate record once, with its normalised identity keys.
-- bg_* are the Python normalisers of bountyguard/normalize.py registered as DuckDB functions. They run
-- once per distinct raw value (names and cities repeat a lot), and the keys are joined back.
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
names AS (
    SELECT full_name, bg_name_key(full_name) AS name_key
    FROM (SELECT DISTINCT full_name FROM raw_records WHERE full_name IS NOT NULL)
),
emails AS (
    SELECT email, bg_email_key(email) AS email_key
    FROM (SELECT DISTINCT email FROM raw_records WHERE email IS NOT NULL)
),
phones AS (
    -- the city gives the country of a number typed without country code
    SELECT phone, city, bg_phone_key(phone, city) AS phone_key,
           -- the same number typed with and without country code on a record without a city
           bg_phone_national_key(phone, city) AS phone_national
    FROM (SELECT DISTINCT phone, city FROM raw_records WHERE phone IS NOT NULL)
),
ibans AS (
    SELECT payout_iban, bg_iban_key(payout_iban) AS iban_key
    FROM (SELECT DISTINCT payout_iban FROM raw_records WHERE payout_iban IS NOT NULL)
),
cities AS (
    SELECT city, bg_city_key(city) AS city_key
    FROM (SELECT DISTINCT city FROM raw_records WHERE city IS NOT NULL)
),
profiles AS (
    SELECT profile_url, bg_profile_key(profile_url) AS profile_key
    FROM (SELECT DISTINCT profile_url FROM raw_records WHERE profile_url IS NOT NULL)
),
keyed AS (
    SELECT r.record_type, r.record_id,
           r.record_type || ':' || r.record_id AS unique_id,
           n.name_key, e.email_key, p.phone_key, p.phone_national, i.iban_key,
           r.birth_date, c.city_key, pr.profile_key
    FROM raw_records r
    LEFT JOIN names n ON n.full_name = r.full_name
    LEFT JOIN emails e ON e.email = r.email
    LEFT JOIN phones p ON p.phone = r.phone AND p.city IS NOT DISTINCT FROM r.city
    LEFT JOIN ibans i ON i.payout_iban = r.payout_iban
    LEFT JOIN cities c ON c.city = r.city
    LEFT JOIN profiles pr ON pr.profile_url = r.profile_url
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
