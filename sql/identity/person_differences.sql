-- Records whose person differs between the incremental resolution (identity_incremental_persons, kept
-- aside by `bountyguard reresolve`) and the full one just made (person_records): ids only.
SELECT coalesce(i.record_type, f.record_type) AS record_type,
       coalesce(i.record_id, f.record_id) AS record_id,
       i.person_id AS incremental_person_id,
       f.person_id AS full_person_id
FROM identity_incremental_persons i
FULL JOIN person_records f ON f.record_type = i.record_type AND f.record_id = i.record_id
WHERE i.person_id IS DISTINCT FROM f.person_id
ORDER BY record_type, record_id
