-- Which records' persons an incremental resolution recomputes, when the last resolution's persons
-- and links are kept (person_records, person_links): the records whose published row would change
-- (new, removed, other keys), both ends of every link added or dropped since, and every record of a
-- person one of those belonged to. Every other record keeps the links, so the person, it had.
-- identity_person_edges: the links among the nodes. A link with one end outside them would mean a
-- person reaching outside the recomputed set; the resolution then recomputes every person.
CREATE OR REPLACE TEMP TABLE identity_changed_ends AS
WITH
links_before AS (
    SELECT DISTINCT record_type_l || ':' || record_id_l AS unique_id_l,
                    record_type_r || ':' || record_id_r AS unique_id_r
    FROM person_links
),
links_now AS (SELECT DISTINCT unique_id_l, unique_id_r FROM identity_all_links),
moved_links AS (
    (SELECT * FROM links_now EXCEPT SELECT * FROM links_before)
    UNION ALL
    (SELECT * FROM links_before EXCEPT SELECT * FROM links_now)
),
-- only the records whose keyed row changed since the last completed resolution can have another
-- published row (identity_changed_records): every other record's is as that resolution wrote it
journal AS (
    SELECT DISTINCT unique_id FROM identity_changed_records
),
rows_now AS (
    SELECT unique_id,
           hash(name_key, email_key, phone_key, iban_key, iban_masked, birth_date, city_key, profile_key) AS digest
    FROM identity_keyed
    WHERE unique_id IN (SELECT unique_id FROM journal)
),
rows_before AS (
    SELECT record_type || ':' || record_id AS unique_id,
           hash(name_key, email_key, phone_key, iban_key, iban_masked, birth_date, city_key, profile_key) AS digest
    FROM person_records
    WHERE record_type || ':' || record_id IN (SELECT unique_id FROM journal)
)
SELECT unique_id_l AS unique_id FROM moved_links
UNION
SELECT unique_id_r FROM moved_links
UNION
SELECT coalesce(n.unique_id, b.unique_id)
FROM rows_now n FULL JOIN rows_before b ON b.unique_id = n.unique_id
WHERE n.unique_id IS NULL OR b.unique_id IS NULL OR n.digest <> b.digest;

CREATE OR REPLACE TEMP TABLE identity_person_nodes AS
WITH
persons_before AS (
    SELECT record_type || ':' || record_id AS unique_id, person_id FROM person_records
),
touched_persons AS (
    SELECT DISTINCT person_id FROM persons_before
    WHERE unique_id IN (SELECT unique_id FROM identity_changed_ends)
)
SELECT unique_id FROM identity_keyed
WHERE unique_id IN (SELECT unique_id FROM identity_changed_ends)
   OR unique_id IN (SELECT unique_id FROM persons_before
                    WHERE person_id IN (SELECT person_id FROM touched_persons));

CREATE OR REPLACE TEMP TABLE identity_person_edges AS
SELECT * FROM identity_all_links
WHERE unique_id_l IN (SELECT unique_id FROM identity_person_nodes)
   OR unique_id_r IN (SELECT unique_id FROM identity_person_nodes);
