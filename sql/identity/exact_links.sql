-- Links from exact normalised keys.
-- E-mail and profile identify a person unless the two records contradict each other: birth dates that
-- differ (the birth date is on the ID checked at payout time), or different cities with nothing but the
-- name to back the key (neither birth date nor phone agrees). A mailbox or profile can be mistyped,
-- shared in a family, or a namesake's (firstname.lastname@ and xing.com/profile/First_Last are taken by
-- whoever came first).
-- A phone or IBAN does not identify anyone on its own (a family shares a phone, sock puppets share a
-- payout account): it links only with birth dates that do not contradict each other and a close name
-- (one edit, or up to $contact_name_max_edits staying similar: bg_names_stay_close), or names
-- of which one holds the other (a middle name left out, a typo allowed per token).
-- Phones are compared on the national number: a number typed without country code on a record without
-- a city is read in the default country, which may be the wrong one.
-- Keys held by more than max_key_group_size records are placeholders (test@test.de, 0000000) and link
-- nothing. Pairs are formed within a key group: at most max_key_group_size^2 / 2 per key.
--
-- Kept between resolutions (identity_exact_records, identity_exact_link_state, valid with the one row
-- of identity_exact_state under its fingerprint: these files, the macros and the settings): a link
-- depends on the two records' keys, names, birth dates, cities and phones, and on the size of its key
-- group, so a key group that no touched record holds now or held at the last resolution has the
-- links it had. A record is touched when it is new, removed, or any of those attributes changed (a
-- digest of them says so); only the touched records' key groups are paired again, with all their
-- members (identity_exact_input: sql/identity/exact_input.sql; identity_exact_touched and
-- identity_exact_groups: sql/identity/exact_changes.sql).
-- $incremental = false: every key group is paired (a full resolution, no valid state); those two
-- tables are then empty, and the state is written anew.

CREATE OR REPLACE TEMP TABLE identity_new_exact_links AS
WITH
all_records_by_key AS (
    SELECT unique_id, 'email' AS key_kind, email_key AS key_value FROM identity_keyed WHERE email_key IS NOT NULL
    UNION ALL
    SELECT unique_id, 'profile', profile_key FROM identity_keyed WHERE profile_key IS NOT NULL
    UNION ALL
    SELECT unique_id, 'phone', phone_national FROM identity_keyed WHERE phone_national IS NOT NULL
    UNION ALL
    SELECT unique_id, 'iban', iban_key FROM identity_keyed WHERE iban_key IS NOT NULL
),
records_by_key AS (
    -- every member of the key groups paired again: every key group in a full resolution, else those
    -- of identity_exact_groups. A semi join on the few groups, not `NOT $incremental OR EXISTS (...)`:
    -- DuckDB planned that as a DISTINCT over every (key kind, key) of every record before the look-up,
    -- most of the statement's time (1.5 of 4.0 s CPU at one million referrals)
    SELECT r.*, hash(r.key_value) AS key_hash
    FROM all_records_by_key r
    WHERE NOT $incremental
    UNION ALL
    SELECT r.*, hash(r.key_value) AS key_hash
    FROM all_records_by_key r
    SEMI JOIN identity_exact_groups g ON g.key_kind = r.key_kind AND g.key_hash = hash(r.key_value)
    WHERE $incremental
),
key_groups AS (
    SELECT *, count(*) OVER (PARTITION BY key_kind, key_value) AS group_size FROM records_by_key
),
key_pairs AS (
    SELECT l.unique_id AS unique_id_l, r.unique_id AS unique_id_r, l.key_kind, l.key_hash
    FROM key_groups l
    JOIN key_groups r
      ON l.key_kind = r.key_kind AND l.key_value = r.key_value AND l.unique_id < r.unique_id
    WHERE l.group_size <= $max_key_group_size
),
compared AS (
    SELECT p.unique_id_l, p.unique_id_r, p.key_kind, p.key_hash,
           least(damerau_levenshtein(a.name_key, b.name_key),
                 damerau_levenshtein(a.name_key, b.name_key_reversed)) AS name_edits,
           bg_tokens_nest(a.name_tokens, b.name_tokens) AS names_nest,
           bg_names_stay_close(a.name_tokens, b.name_tokens, a.name_key, b.name_key, b.name_key_reversed)
               AS names_stay_close,
           CASE
               WHEN a.birth_date IS NULL OR b.birth_date IS NULL THEN 'missing'
               WHEN a.birth_date = b.birth_date THEN 'equal'
               WHEN (year(a.birth_date) = year(b.birth_date)
                     AND month(a.birth_date) = day(b.birth_date)
                     AND day(a.birth_date) = month(b.birth_date))
                 OR damerau_levenshtein(strftime(a.birth_date, '%Y%m%d'),
                                        strftime(b.birth_date, '%Y%m%d')) <= 1 THEN 'typo'
               ELSE 'different'
           END AS birth_date_agreement,
           coalesce(a.city_key <> b.city_key, false) AS other_city,
           coalesce(a.phone_national = b.phone_national, false) AS same_phone
    FROM key_pairs p
    JOIN identity_keyed a ON a.unique_id = p.unique_id_l
    JOIN identity_keyed b ON b.unique_id = p.unique_id_r
)
SELECT unique_id_l, unique_id_r,
       CASE key_kind WHEN 'email' THEN 'email' WHEN 'profile' THEN 'profile'
                     ELSE key_kind || '_and_name' END AS rule,
       1.0::DOUBLE AS match_probability,
       CASE WHEN key_kind IN ('email', 'profile')
            THEN json_object('agreed', [CASE key_kind WHEN 'email' THEN 'email' ELSE 'profile_url' END],
                             'birth_date', birth_date_agreement)
            ELSE json_object('agreed', [key_kind, 'name'], 'name_edits', name_edits,
                             'names_nest', names_nest, 'birth_date', birth_date_agreement)
       END::VARCHAR AS evidence,
       key_kind, key_hash
FROM compared
WHERE birth_date_agreement <> 'different'
  AND CASE WHEN key_kind IN ('email', 'profile')
           THEN NOT other_city OR same_phone OR birth_date_agreement IN ('equal', 'typo')
           -- (two edits in a short given name make another person's name, Lea / Lisa Richter
           -- sharing the family phone: beyond one edit the names must stay close, as in the model)
           ELSE name_edits <= 1 OR (name_edits <= $contact_name_max_edits AND names_stay_close) OR names_nest
      END;

CREATE OR REPLACE TEMP TABLE identity_exact_links AS
SELECT unique_id_l, unique_id_r, rule, match_probability, evidence
FROM identity_exact_link_state l
WHERE $incremental
  AND NOT EXISTS (SELECT 1 FROM identity_exact_groups g WHERE g.key_kind = l.key_kind AND g.key_hash = l.key_hash)
UNION ALL
SELECT unique_id_l, unique_id_r, rule, match_probability, evidence FROM identity_new_exact_links;

-- the state the next resolution starts from: the fingerprint row goes first and comes back last
DELETE FROM identity_exact_state;

DELETE FROM identity_exact_link_state l
WHERE NOT $incremental
   OR EXISTS (SELECT 1 FROM identity_exact_groups g WHERE g.key_kind = l.key_kind AND g.key_hash = l.key_hash);

INSERT INTO identity_exact_link_state BY NAME SELECT * FROM identity_new_exact_links;

DELETE FROM identity_exact_records
WHERE NOT $incremental OR unique_id IN (SELECT unique_id FROM identity_exact_touched);

INSERT INTO identity_exact_records BY NAME
SELECT * FROM identity_exact_input
WHERE NOT $incremental OR unique_id IN (SELECT unique_id FROM identity_exact_touched);

INSERT INTO identity_exact_state VALUES ($exact_fingerprint);
