-- The normalised matching keys identity resolution published for the records of forgotten_now (run
-- only when identity resolution has run at least once: these tables are its output).
UPDATE person_records
SET name_key = NULL, email_key = NULL, phone_key = NULL, iban_key = NULL, iban_masked = NULL, birth_date = NULL,
    city_key = NULL, profile_key = NULL
WHERE (record_type, record_id) IN (SELECT (record_type, record_id) FROM forgotten_now);

UPDATE person_links SET evidence = NULL
WHERE (record_type_l, record_id_l) IN (SELECT (record_type, record_id) FROM forgotten_now)
   OR (record_type_r, record_id_r) IN (SELECT (record_type, record_id) FROM forgotten_now);
