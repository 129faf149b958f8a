-- Macros shared by the project's SQL, defined once and created on every connection that enters a run
-- (pipeline._Run.enter). TEMP: they belong to the connection, never to the DuckDB file.

-- Whether a key is among those a model is being rebuilt for. A model kept between runs (a
-- `-- unique_key:` header) calls it on the keys of the rows it reads, so that a daily run that
-- rebuilds a few keys reads only their rows (DuckDB cannot push the final key filter down through
-- the model's joins and aggregates). In a full build, and for every other reader, every key is:
-- `true` folds away. models.build redefines it for an update in place, and runs this file again
-- afterwards.
CREATE OR REPLACE TEMP MACRO in_build_scope(key) AS true;

-- The same for the quarantine checks (sql/validation/quarantine.sql): a daily run checks again only
-- the rows of sql/incremental/quarantine_scope.sql; bountyguard/validate.py redefines it for that
-- and runs this file again afterwards.
CREATE OR REPLACE TEMP MACRO in_quarantine_scope(scope_table, scope_key) AS true;

-- The lower end of the 95% Wilson interval of a share k/n (0 when nothing was observed): a share of a
-- few events says little, 1 of 1 is not 12 of 12.
CREATE OR REPLACE TEMP MACRO wilson_lower_bound(k, n) AS
    CASE WHEN n > 0 THEN
        (k / n + 1.9208 / n - 1.96 * sqrt((k / n) * (1 - k / n) / n + 0.9604 / (n * n))) / (1 + 3.8416 / n)
    ELSE 0 END;

-- An IBAN as people type it (spaces, dashes, dots, slashes, any case) in its compact upper-case form.
CREATE OR REPLACE TEMP MACRO iban_compact(iban) AS
    upper(regexp_replace(iban, '[\s.\-/]', '', 'g'));

-- ISO 13616 structure and mod-97 check digits of a compact IBAN, vectorised in SQL so that checking
-- every referrer's account costs a scan, not a Python call per row. The payout job additionally
-- parses the IBAN with schwifty (country lengths) before paying to it.
CREATE OR REPLACE TEMP MACRO iban_is_valid(compact) AS
    regexp_matches(compact, '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$')
    AND list_reduce(
        list_transform(
            string_split(array_to_string(list_transform(
                string_split(substr(compact, 5) || substr(compact, 1, 4), ''),
                lambda ch: CASE WHEN ch BETWEEN '0' AND '9' THEN ch ELSE CAST(ascii(ch) - 55 AS VARCHAR) END), ''), ''),
            lambda d: CAST(d AS INTEGER)),
        lambda acc, d: (acc * 10 + d) % 97, 0) = 1;
