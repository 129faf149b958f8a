-- Links from exact normalised keys.
-- E-mail and profile identify a person on their own. A phone or IBAN does not (a family shares a
-- phone, sock puppets share a payout account): it links only with a close name and birth dates
-- that do not contradict each other.
-- Keys held by more than max_key_group_size records are placeholders (test@test.de, 0000000) and link
-- nothing. E-mail and profile groups link as a star to their smallest record: linear in group size.
CREATE OR REPLACE TEMP TABLE identity_exact_links AS
WITH
email_groups AS (
    SELECT unique_id,
           min(unique_id) OVER (PARTITION BY email_key) AS anchor_id,
           count(*) OVER (PARTITION BY email_key) AS group_size
    FROM identity_keyed WHERE email_key IS NOT NULL
),
profile_groups AS (
    SELECT unique_id,
           min(unique_id) OVER (PARTITION BY profile_key) AS anchor_id,
           count(*) OVER (PARTITION BY profile_key) AS group_size
    FROM identity_keyed WHERE profile_key IS NOT NULL
),
contact_records AS (
    SELECT unique_id, name_key, name_key_reversed, birth_date, 'phone' AS contact, phone_key AS contact_key
    FROM identity_keyed WHERE phone_key IS NOT NULL
    UNION ALL
    SELECT unique_id, name_key, name_key_reversed, birth_date, 'iban', iban_key
    FROM identity_keyed WHERE iban_key IS NOT NULL
),
contact_groups AS (
    SELECT *, count(*) OVER (PARTITION BY contact, contact_key) AS group_size FROM contact_records
),
contact_pairs AS (
    SELECT l.unique_id AS unique_id_l, r.unique_id AS unique_id_r, l.contact,
           least(damerau_levenshtein(l.name_key, r.name_key),
                 damerau_levenshtein(l.name_key, r.name_key_reversed)) AS name_edits,
           CASE
               WHEN l.birth_date IS NULL OR r.birth_date IS NULL THEN 'missing'
               WHEN l.birth_date = r.birth_date THEN 'equal'
               WHEN (year(l.birth_date) = year(r.birth_date)
                     AND month(l.birth_date) = day(r.birth_date)
                     AND day(l.birth_date) = month(r.birth_date))
                 OR damerau_levenshtein(strftime(l.birth_date, '%Y%m%d'),
                                        strftime(r.birth_date, '%Y%m%d')) <= 1 THEN 'typo'
               ELSE 'different'
           END AS birth_date_agreement
    FROM contact_groups l
    JOIN contact_groups r
      ON l.contact = r.contact AND l.contact_key = r.contact_key AND l.unique_id < r.unique_id
    WHERE l.group_size <= $max_key_group_size
      AND l.name_key IS NOT NULL AND r.name_key IS NOT NULL
)
SELECT anchor_id AS unique_id_l, unique_id AS unique_id_r, 'email' AS rule,
       1.0::DOUBLE AS match_probability,
       '{"agreed":["email"]}' AS evidence
FROM email_groups WHERE unique_id <> anchor_id AND group_size <= $max_key_group_size
UNION ALL
SELECT anchor_id, unique_id, 'profile', 1.0::DOUBLE, '{"agreed":["profile_url"]}'
FROM profile_groups WHERE unique_id <> anchor_id AND group_size <= $max_key_group_size
UNION ALL
SELECT unique_id_l, unique_id_r, contact || '_and_name', 1.0::DOUBLE,
       json_object('agreed', [contact, 'name'], 'name_edits', name_edits,
                   'birth_date', birth_date_agreement)::VARCHAR
FROM contact_pairs
WHERE name_edits <= $contact_name_max_edits AND birth_date_agreement <> 'different';
