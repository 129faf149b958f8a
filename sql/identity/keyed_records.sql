-- Every record with its normalised keys: the looked-up records' from the cache (sql/identity/records.sql,
-- new_keys.sql), stored in identity_record_keys with all that resolution compares of them; the other
-- records' as stored there before. identity_keyed is a view of that table: a daily run writes the
-- day's records, it does not copy every record's row again.
CREATE OR REPLACE TEMP TABLE identity_looked_up AS
WITH cached AS (
    SELECT c.kind, v.raw, c.context, c.key
    FROM identity_key_hashes c JOIN identity_raw_hashes v USING (raw_hash)
    WHERE c.version = $keys_version AND c.key_id = $matching_key_id
),
keyed AS (
    SELECT $lookup AS lookup, r.record_type, r.record_id, r.raw_digest,
           r.record_type || ':' || r.record_id AS unique_id,
           n.key AS name_key, e.key AS email_key, p.key AS phone_key, pn.key AS phone_national,
           i.key AS iban_key, im.key AS iban_masked, r.birth_date, c.key AS city_key, pr.key AS profile_key,
           -- the year a mailbox name often carries (anna.schmidt1987@, jkowalski82@): the last number
           -- of the local part, where it can be a birth year (a weak hint, for records without a birth
           -- date; bountyguard/identity/model.py)
           bg_mailbox_year(r.email) AS email_year
    FROM identity_lookup_records r
    LEFT JOIN cached n ON n.kind = 'name' AND n.raw = r.full_name AND n.context = ''
    LEFT JOIN cached e ON e.kind = 'email' AND e.raw = r.email AND e.context = ''
    LEFT JOIN cached p ON p.kind = 'phone' AND p.raw = r.phone AND p.context = r.phone_context
    LEFT JOIN cached pn ON pn.kind = 'phone_national' AND pn.raw = r.phone AND pn.context = r.phone_context
    LEFT JOIN cached i ON i.kind = 'iban' AND i.raw = r.payout_iban AND i.context = ''
    LEFT JOIN cached im ON im.kind = 'iban_masked' AND im.raw = r.payout_iban AND im.context = ''
    LEFT JOIN cached c ON c.kind = 'city' AND c.raw = r.city AND c.context = ''
    LEFT JOIN cached pr ON pr.kind = 'profile' AND pr.raw = r.profile_url AND pr.context = ''
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

-- the stored rows that go: of records changed or removed (every row in a sweep, which any other
-- look-up context is; rows of an older layout have no unique_id yet)
CREATE OR REPLACE TEMP TABLE identity_dropped_keys AS
SELECT k.record_type || ':' || k.record_id AS unique_id FROM identity_record_keys k
WHERE $sweep OR k.lookup <> $lookup
   OR NOT EXISTS (SELECT 1 FROM identity_raw_records r
                  WHERE r.record_type = k.record_type AND r.record_id = k.record_id AND r.raw_digest = k.raw_digest);

-- noted before the rows change (sql/schema/identity.sql): the kept states downstream compare only these
INSERT INTO identity_changed_records
SELECT unique_id FROM identity_dropped_keys
UNION ALL
SELECT unique_id FROM identity_looked_up;

DELETE FROM identity_record_keys WHERE $sweep OR unique_id IN (SELECT unique_id FROM identity_dropped_keys);

INSERT INTO identity_record_keys BY NAME SELECT * FROM identity_looked_up;

-- every record once: each row left above matches a current record exactly (type, id and digest), and
-- each record without one was looked up (bountyguard/identity/resolve.py counts both to make sure)
CREATE OR REPLACE TEMP VIEW identity_keyed AS
SELECT record_type, record_id, unique_id, name_key, email_key, phone_key, phone_national, iban_key, iban_masked,
       birth_date, city_key, profile_key, email_year, name_tokens, name_key_reversed, name_first, name_last,
       birth_year, birth_month_day
FROM identity_record_keys;
