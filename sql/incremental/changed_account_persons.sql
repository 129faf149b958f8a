-- Which referrer persons' flags a daily run computes again for the rules whose flags follow a
-- referrer person's payout accounts (detectors' `flags_follow = "payout_accounts"`:
-- shared_payout_account), after identity resolution (bountyguard/incremental.py; the base run's flags of
-- every other person stay current). Such a flag reads, of one referrer person, their referrer
-- records' keyed IBANs, every referrer record that shares one (and its person), and the payouts of
-- their records. So a person's flag may change when
--   one of their referrer records was loaded since (another IBAN, a new record) or joined or left them
--   (changed_person_records: the records whose person changed, from changed_rows.sql);
--   such a record joined one of their IBANs' groups: every person holding an IBAN a changed record
--   holds now;
--   such a record left one of their groups, changed person within it, or a payout of theirs was
--   loaded since: that changes a flag only where there is one (a group a record left was shared
--   only if its members are flagged), and every person the base run flagged is in the set (the
--   current versions of the rule's flags: this run has not stored its own yet).
-- A person who ceased to exist (merged into another) is among them if they had a flag to drop.
-- The set may hold more than changed; computing an unchanged person's flag again gives the same.

CREATE OR REPLACE TEMP TABLE changed_account_persons AS
WITH
changed_referrer_records AS (
    SELECT record_id FROM changed_person_records WHERE record_type = 'referrer'
    UNION
    SELECT referrer_id FROM referrers WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
),
changed_accounts AS (
    SELECT person_id, iban_key
    FROM person_records
    WHERE record_type = 'referrer' AND record_id IN (SELECT record_id FROM changed_referrer_records)
)
SELECT person_id FROM changed_accounts
UNION
SELECT person_id FROM person_records
WHERE record_type = 'referrer' AND iban_key IN (SELECT iban_key FROM changed_accounts WHERE iban_key IS NOT NULL)
UNION
-- ($patterns: the rules whose flags follow payout accounts)
SELECT person_id FROM flag_versions
WHERE list_contains($patterns::VARCHAR[], pattern) AND to_generation IS NULL AND person_id IS NOT NULL;
