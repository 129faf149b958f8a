-- shared_payout_account: several referrer accounts pay out to the same bank account (IBAN compared
-- after normalisation: spaces and case do not hide it; iban_key is its keyed hash). One flag per referrer
-- person involved; the evidence shows the IBAN masked to its country and last four characters.
-- Each flag reads one referrer person's accounts and every record sharing one: a daily run computes
-- the flags of the persons in its scope only (detectors' flags_follow "payout_accounts";
-- sql/incremental/changed_account_persons.sql), reading the groups of their IBANs alone.
-- inputs: payouts, person_records
WITH
accounts_in_scope AS (
    -- (a daily run: the IBANs of the persons it computes again)
    SELECT DISTINCT iban_key
    FROM person_records
    WHERE record_type = 'referrer' AND iban_key IS NOT NULL AND in_build_scope(person_id)
),
referrer_accounts AS (
    SELECT pr.record_id AS referrer_id, pr.person_id, pr.iban_key, pr.iban_masked
    FROM person_records pr
    WHERE pr.record_type = 'referrer' AND pr.iban_key IS NOT NULL
      AND pr.iban_key IN (SELECT iban_key FROM accounts_in_scope)
),
shared_accounts AS (
    SELECT iban_key
    FROM referrer_accounts
    GROUP BY iban_key
    HAVING count(DISTINCT referrer_id) >= $min_accounts
),
account_members AS (
    SELECT
        a.iban_key,
        min(a.iban_masked) AS iban_masked,  -- one value: one normalised IBAN, one mask
        list(DISTINCT a.referrer_id ORDER BY a.referrer_id) AS referrer_ids,
        count(DISTINCT a.person_id) AS persons
    FROM referrer_accounts a
    JOIN shared_accounts USING (iban_key)
    GROUP BY a.iban_key
),
payout_totals AS (
    SELECT p.referrer_id, count(*) AS payouts, sum(p.amount) AS amount
    FROM payouts p
    WHERE p.referrer_id IN (SELECT a.referrer_id FROM referrer_accounts a JOIN shared_accounts USING (iban_key))
    GROUP BY p.referrer_id
)
SELECT
    'referrer' AS entity_type,
    min(a.referrer_id) AS entity_id,
    a.person_id,
    round(least(1.0, 0.6 + 0.1 * max(m.persons)), 4) AS score,
    'high' AS severity,
    to_json({
        'person_id': a.person_id,
        'referrer_ids': list(DISTINCT a.referrer_id ORDER BY a.referrer_id),
        'shared_accounts': list(DISTINCT {
            'iban': m.iban_masked, 'accounts': m.referrer_ids, 'persons': m.persons
        } ORDER BY {'iban': m.iban_masked, 'accounts': m.referrer_ids, 'persons': m.persons}),
        'payouts_to_these_accounts': sum(coalesce(t.payouts, 0)),
        'amount_to_these_accounts': sum(coalesce(t.amount, 0))
    })::VARCHAR AS evidence
FROM referrer_accounts a
JOIN account_members m USING (iban_key)
LEFT JOIN payout_totals t ON t.referrer_id = a.referrer_id
GROUP BY a.person_id
