"""A textbook baseline to print beside bountyguard's own scores.

What a competent analyst would write in an afternoon from the contract's pattern definitions (see
../shared/CONTRACT.md), and deliberately nothing more: exact normalised identity keys joined into
connected components, then one plain rule per pattern and the product's payout policy. It shares no
code with bountyguard's detectors, so the distance between the two score tables is what the real
pipeline adds.

    baseline_run(landing, as_of, out) -> out

reads a landing folder (`<table>.csv`, or `<table>.parquet`; applications may be missing) into an
in-memory DuckDB, and writes into `out` the four files `bountyguard.evaluation.scores.evaluate` and
`check_export.py` read: report.json, flags.csv, identities.csv, payout_decisions.csv.

Rules (data known on as_of only: later referrals, applications and hires are ignored, and so is an
ended_at after as_of):

- identity: two records are one person when they share a normalised e-mail (lower case, trimmed;
  gmail/googlemail without dots and +tag), a normalised phone (digits only, the last 9, when there
  are at least 9), or a normalised name (anyascii, lower case, sorted tokens) together with an equal
  birth date. Connected components of those links are persons. An IBAN never links two records.
- early_exit: a referred hire that ended before started_at + guarantee_days (entity hire).
- late_referral: a hired referral with referred_at >= hired_at - 48 hours (entity referral).
- duplicate_referral: a hired referral whose candidate person had, before it, a referral to the same
  company by another referrer person, an own direct/agency application there, or a hire there.
- self_referral: referrer and candidate records resolve to one person (entity referral).
- shared_payout_account: 2+ referrer records with one IBAN (spaces, dashes, dots removed, upper case).
- referral_ring: person A referred person B and B referred A (2-cycles only; entity referrer).
- job_hopping: a candidate person with 3+ ended hires each shorter than 180 days.
- serial_rereferral: a candidate person with 3+ referred hires each ending 0 to 30 days after the
  guarantee end (entity candidate, and the referrer records of those referrals).
- velocity_spike: a referrer person with 10+ referrals in the 30 days up to as_of and more than 3x
  their own monthly average over the 12 months before that.
- no anomaly flags.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
from anyascii import anyascii

from bountyguard.contract import PATTERNS, TABLES
from bountyguard.errors import BountyguardError

RUN_ID = "baseline"

VOID_CODES = ("early_exit", "duplicate_referral", "late_referral")
HOLD_CODES = ("serial_rereferral", "job_hopping", "self_referral", "shared_payout_account", "referral_ring",
              "velocity_spike")
CLAWBACK_PERSON_CODES = ("serial_rereferral", "self_referral", "shared_payout_account", "referral_ring")

# timestamps and dates as the contract writes them; a value that does not read is NULL
_MACROS = """
CREATE MACRO txt(x) AS nullif(trim(x), '');
CREATE MACRO ts(x) AS TRY_CAST(txt(x) AS TIMESTAMPTZ)::TIMESTAMP;
CREATE MACRO dte(x) AS coalesce(TRY_CAST(txt(x) AS DATE), ts(x)::DATE);
"""


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _load(con: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, int]:
    """raw_<table>: every contract column as text (an absent optional table: no rows)."""
    rows_in = {}
    for name, table in TABLES.items():
        cols = table.column_names
        csv_path, pq_path = landing / f"{name}.csv", landing / f"{name}.parquet"
        select = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in cols)
        if csv_path.exists():
            source = f"read_csv({_sql_str(csv_path)}, all_varchar=true, header=true)"
        elif pq_path.exists():
            source = f"read_parquet({_sql_str(pq_path)})"
        elif table.optional:
            con.execute(f"CREATE TABLE raw_{name} ({', '.join(f'{c} VARCHAR' for c in cols)})")
            rows_in[name] = 0
            continue
        else:
            raise BountyguardError(f"{landing}: no {name}.csv or {name}.parquet")
        try:
            con.execute(f"CREATE TABLE raw_{name} AS SELECT {select} FROM {source}")
        except duckdb.Error as e:
            raise BountyguardError(f"{landing}/{name}: cannot read ({type(e).__name__})") from None
        rows_in[name] = con.execute(f"SELECT count(*) FROM raw_{name}").fetchone()[0]
    return rows_in


def _typed(con: duckdb.DuckDBPyConnection) -> None:
    """Typed current state: one row per key (a later updated_at wins), rows without a key dropped."""
    def latest(key: str, version: str | None) -> str:
        order = f"ts({version}) DESC NULLS LAST" if version else "1"
        return f"WHERE txt({key}) IS NOT NULL QUALIFY row_number() OVER (PARTITION BY txt({key}) ORDER BY {order}) = 1"

    con.execute(f"""
        CREATE TABLE referrers AS SELECT txt(referrer_id) AS referrer_id, full_name, txt(email) AS email,
               txt(phone) AS phone, txt(payout_iban) AS payout_iban, dte(birth_date) AS birth_date
        FROM raw_referrers {latest('referrer_id', 'updated_at')};
        CREATE TABLE candidates AS SELECT txt(candidate_id) AS candidate_id, full_name, txt(email) AS email,
               txt(phone) AS phone, dte(birth_date) AS birth_date
        FROM raw_candidates {latest('candidate_id', 'updated_at')};
        CREATE TABLE companies AS SELECT txt(company_id) AS company_id FROM raw_companies {latest('company_id', None)};
        CREATE TABLE jobs AS SELECT txt(job_id) AS job_id, txt(company_id) AS company_id,
               TRY_CAST(txt(guarantee_days) AS INTEGER) AS guarantee_days
        FROM raw_jobs {latest('job_id', None)};
        CREATE TABLE referrals AS SELECT txt(referral_id) AS referral_id, txt(referrer_id) AS referrer_id,
               txt(candidate_id) AS candidate_id, txt(job_id) AS job_id, ts(referred_at) AS referred_at
        FROM raw_referrals {latest('referral_id', None)};
        CREATE TABLE applications AS SELECT txt(application_id) AS application_id,
               txt(candidate_id) AS candidate_id, txt(job_id) AS job_id, ts(applied_at) AS applied_at,
               lower(txt(source)) AS source
        FROM raw_applications {latest('application_id', None)};
        CREATE TABLE hires AS SELECT txt(hire_id) AS hire_id, txt(referral_id) AS referral_id,
               txt(candidate_id) AS candidate_id, txt(job_id) AS job_id, ts(hired_at) AS hired_at,
               dte(started_at) AS started_at, dte(ended_at) AS ended_at
        FROM raw_hires {latest('hire_id', 'updated_at')};
        CREATE TABLE payouts AS SELECT txt(payout_id) AS payout_id, txt(hire_id) AS hire_id,
               txt(referral_id) AS referral_id, txt(referrer_id) AS referrer_id,
               dte(eligible_at) AS eligible_at, lower(txt(status)) AS status
        FROM raw_payouts {latest('payout_id', 'updated_at')};
    """)


# --- identity: exact normalised keys, connected components ---------------------------------------------

_KEYS_SQL = """
WITH rec AS (
    SELECT 'referrer' AS record_type, referrer_id AS record_id, full_name, email, phone, birth_date FROM referrers
    UNION ALL
    SELECT 'candidate', candidate_id, full_name, email, phone, birth_date FROM candidates
), norm AS (
    SELECT record_type, record_id, birth_date,
           lower(trim(email)) AS e,
           regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') AS digits,
           array_to_string(list_sort(regexp_extract_all(lower(to_ascii(full_name)), '[a-z0-9]+')), ' ') AS name_key
    FROM rec
), keyed AS (
    SELECT record_type, record_id,
           CASE WHEN e IS NULL OR e NOT LIKE '%_@_%' THEN NULL
                WHEN split_part(e, '@', 2) IN ('gmail.com', 'googlemail.com')
                    THEN replace(split_part(split_part(e, '@', 1), '+', 1), '.', '') || '@gmail.com'
                ELSE e END AS email_key,
           CASE WHEN length(digits) >= 9 THEN right(digits, 9) END AS phone_key,
           CASE WHEN name_key <> '' AND birth_date IS NOT NULL THEN name_key || '|' || birth_date::VARCHAR END AS name_dob_key
    FROM norm
)
SELECT record_type, record_id, 'email:' || email_key FROM keyed WHERE email_key IS NOT NULL
UNION ALL SELECT record_type, record_id, 'phone:' || phone_key FROM keyed WHERE phone_key IS NOT NULL
UNION ALL SELECT record_type, record_id, 'name_dob:' || name_dob_key FROM keyed WHERE name_dob_key IS NOT NULL
"""


def _identities(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Union-find over the records that share a key; writes identities.csv and loads it as `ident`."""
    records = con.execute(
        "SELECT 'referrer', referrer_id FROM referrers UNION ALL SELECT 'candidate', candidate_id FROM candidates"
    ).fetchall()
    parent = {r: r for r in records}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with_key: dict[str, tuple] = {}
    for rtype, rid, key in con.execute(_KEYS_SQL).fetchall():
        rec = (rtype, rid)
        if key in first_with_key:
            a, b = find(first_with_key[key]), find(rec)
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            first_with_key[key] = rec

    roots = sorted({find(r) for r in records})
    person = {root: f"BP{n:06d}" for n, root in enumerate(roots, start=1)}
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["record_type", "record_id", "person_id"])
        for rec in sorted(records):
            w.writerow([rec[0], rec[1], person[find(rec)]])
    con.execute(f"CREATE TABLE ident AS SELECT * FROM read_csv({_sql_str(path)}, all_varchar=true, header=true)")
    return len(roots)


# --- facts known on as_of ------------------------------------------------------------------------------

_FACTS_SQL = """
CREATE TABLE rf AS
SELECT r.referral_id, r.referrer_id, r.candidate_id, r.job_id, j.company_id, r.referred_at,
       ir.person_id AS referrer_person, ic.person_id AS candidate_person
FROM referrals r
LEFT JOIN jobs j USING (job_id)
LEFT JOIN ident ir ON ir.record_type = 'referrer' AND ir.record_id = r.referrer_id
LEFT JOIN ident ic ON ic.record_type = 'candidate' AND ic.record_id = r.candidate_id
WHERE r.referred_at < getvariable('cutoff');

CREATE TABLE hr AS
SELECT h.hire_id, h.referral_id, h.candidate_id, h.job_id, j.company_id, j.guarantee_days, h.hired_at,
       h.started_at, CASE WHEN h.ended_at <= getvariable('as_of') THEN h.ended_at END AS ended_at,
       h.started_at + j.guarantee_days AS guarantee_end, ic.person_id AS candidate_person
FROM hires h
LEFT JOIN jobs j USING (job_id)
LEFT JOIN ident ic ON ic.record_type = 'candidate' AND ic.record_id = h.candidate_id
WHERE h.hired_at < getvariable('cutoff');

CREATE TABLE ap AS
SELECT a.application_id, a.candidate_id, j.company_id, a.applied_at, ic.person_id AS candidate_person
FROM applications a
LEFT JOIN jobs j USING (job_id)
LEFT JOIN ident ic ON ic.record_type = 'candidate' AND ic.record_id = a.candidate_id
WHERE a.applied_at < getvariable('cutoff') AND a.source IN ('direct', 'agency');

-- every record of a person, for the evidence of a person-level flag
CREATE TABLE person_records AS
SELECT person_id, list(record_type || ':' || record_id ORDER BY record_type, record_id) AS records
FROM ident GROUP BY person_id;
"""

# one plain rule per pattern: (pattern, entity_type, entity_id, score, evidence)
_RULES_SQL = """
CREATE TABLE raw_flags AS

-- early_exit: a referred hire that ended before its guarantee was over
SELECT 'early_exit' AS pattern, 'hire' AS entity_type, hire_id AS entity_id, 1.0 AS score,
       json_object('hire_id', hire_id, 'referral_id', referral_id, 'started_at', started_at,
                   'ended_at', ended_at, 'guarantee_days', guarantee_days, 'guarantee_end', guarantee_end) AS evidence
FROM hr WHERE referral_id IS NOT NULL AND ended_at < guarantee_end

UNION ALL
-- late_referral: a hired referral filed less than 48 hours before the hire, or after it
SELECT 'late_referral', 'referral', rf.referral_id, 1.0,
       json_object('referral_id', rf.referral_id, 'hire_id', hr.hire_id, 'referred_at', rf.referred_at,
                   'hired_at', hr.hired_at,
                   'hours_before_hire', round(date_diff('minute', rf.referred_at, hr.hired_at) / 60.0, 1))
FROM rf JOIN hr ON hr.referral_id = rf.referral_id
WHERE rf.referred_at >= hr.hired_at - INTERVAL 48 HOUR

UNION ALL
-- duplicate_referral: the candidate person was already known to the company when the referral came in
SELECT 'duplicate_referral', 'referral', h.referral_id, 1.0,
       json_object('referral_id', h.referral_id, 'hire_id', h.hire_id, 'company_id', h.company_id,
                   'referred_at', h.referred_at, 'candidate_person', h.candidate_person,
                   'earlier_referrals', pr.ids, 'earlier_applications', pa.ids, 'earlier_hires', ph.ids)
FROM (SELECT rf.*, hr.hire_id FROM rf JOIN hr ON hr.referral_id = rf.referral_id) h
LEFT JOIN (
    SELECT h.referral_id, list(DISTINCT o.referral_id) AS ids
    FROM rf h JOIN rf o ON o.candidate_person = h.candidate_person AND o.company_id = h.company_id
                       AND o.referred_at < h.referred_at AND o.referrer_person <> h.referrer_person
    GROUP BY h.referral_id) pr ON pr.referral_id = h.referral_id
LEFT JOIN (
    SELECT h.referral_id, list(DISTINCT a.application_id) AS ids
    FROM rf h JOIN ap a ON a.candidate_person = h.candidate_person AND a.company_id = h.company_id
                       AND a.applied_at < h.referred_at
    GROUP BY h.referral_id) pa ON pa.referral_id = h.referral_id
LEFT JOIN (
    SELECT h.referral_id, list(DISTINCT o.hire_id) AS ids
    FROM rf h JOIN hr o ON o.candidate_person = h.candidate_person AND o.company_id = h.company_id
                       AND o.hired_at < h.referred_at AND o.referral_id IS DISTINCT FROM h.referral_id
    GROUP BY h.referral_id) ph ON ph.referral_id = h.referral_id
WHERE pr.ids IS NOT NULL OR pa.ids IS NOT NULL OR ph.ids IS NOT NULL

UNION ALL
-- self_referral: referrer and candidate resolve to one person
SELECT 'self_referral', 'referral', rf.referral_id, 1.0,
       json_object('referral_id', rf.referral_id, 'referrer_id', rf.referrer_id, 'candidate_id', rf.candidate_id,
                   'person_id', rf.referrer_person, 'records', p.records)
FROM rf JOIN person_records p ON p.person_id = rf.referrer_person
WHERE rf.referrer_person = rf.candidate_person

UNION ALL
-- shared_payout_account: two or more referrer records pay out to one account
SELECT 'shared_payout_account', 'referrer', r.referrer_id, 1.0,
       json_object('referrer_id', r.referrer_id, 'referrers_on_account', g.ids, 'referrers_sharing', g.n)
FROM (SELECT referrer_id, upper(regexp_replace(payout_iban, '[\\s.\\-]', '', 'g')) AS iban_key
      FROM referrers WHERE payout_iban IS NOT NULL) r
JOIN (SELECT upper(regexp_replace(payout_iban, '[\\s.\\-]', '', 'g')) AS iban_key,
             list(referrer_id ORDER BY referrer_id) AS ids, count(DISTINCT referrer_id) AS n
      FROM referrers WHERE payout_iban IS NOT NULL GROUP BY 1 HAVING count(DISTINCT referrer_id) >= 2) g
  USING (iban_key)

UNION ALL
-- referral_ring: A referred B and B referred A (persons)
SELECT 'referral_ring', 'referrer', rf.referrer_id, 1.0,
       json_object('referrer_id', rf.referrer_id, 'person_id', any_value(rf.referrer_person),
                   'referred_persons', list(DISTINCT rf.candidate_person),
                   'referral_ids', list(rf.referral_id ORDER BY rf.referral_id))
FROM rf
JOIN (SELECT DISTINCT p.a, p.b
      FROM (SELECT DISTINCT referrer_person AS a, candidate_person AS b FROM rf WHERE referrer_person <> candidate_person) p
      JOIN (SELECT DISTINCT referrer_person AS a, candidate_person AS b FROM rf WHERE referrer_person <> candidate_person) q
        ON q.a = p.b AND q.b = p.a) ring
  ON ring.a = rf.referrer_person AND ring.b = rf.candidate_person
GROUP BY rf.referrer_id

UNION ALL
-- job_hopping: 3+ ended hires of one candidate person, each shorter than 180 days
SELECT 'job_hopping', 'candidate', s.candidate_id, 0.8,
       json_object('candidate_id', s.candidate_id, 'person_id', s.candidate_person, 'records', any_value(pr.records),
                   'short_hires', any_value(g.ids), 'short_tenures', any_value(g.n))
FROM (SELECT * FROM hr WHERE ended_at IS NOT NULL AND date_diff('day', started_at, ended_at) < 180) s
JOIN (SELECT candidate_person, list(hire_id ORDER BY started_at, hire_id) AS ids, count(*) AS n
      FROM hr WHERE ended_at IS NOT NULL AND date_diff('day', started_at, ended_at) < 180
      GROUP BY 1 HAVING count(*) >= 3) g USING (candidate_person)
JOIN person_records pr ON pr.person_id = s.candidate_person
GROUP BY s.candidate_id, s.candidate_person

UNION ALL
-- serial_rereferral: 3+ referred hires of one candidate person, each ending 0-30 days after the guarantee
SELECT 'serial_rereferral', e.entity_type, e.entity_id, 1.0,
       json_object(e.entity_type || '_id', e.entity_id, 'candidate_person', e.candidate_person,
                   'records', any_value(pr.records), 'hires', any_value(g.ids), 'stints', any_value(g.n),
                   'days_after_guarantee', any_value(g.days))
FROM (
    SELECT s.candidate_person, x.entity_type, x.entity_id
    FROM (SELECT hr.candidate_id, hr.candidate_person, rf.referrer_id
          FROM hr JOIN rf ON rf.referral_id = hr.referral_id
          WHERE hr.ended_at IS NOT NULL AND date_diff('day', hr.guarantee_end, hr.ended_at) BETWEEN 0 AND 30) s,
         LATERAL (VALUES ('candidate', s.candidate_id), ('referrer', s.referrer_id)) x(entity_type, entity_id)
) e
JOIN (SELECT hr.candidate_person, list(hr.hire_id ORDER BY hr.started_at, hr.hire_id) AS ids, count(*) AS n,
             list(date_diff('day', hr.guarantee_end, hr.ended_at) ORDER BY hr.started_at, hr.hire_id) AS days
      FROM hr JOIN rf ON rf.referral_id = hr.referral_id
      WHERE hr.ended_at IS NOT NULL AND date_diff('day', hr.guarantee_end, hr.ended_at) BETWEEN 0 AND 30
      GROUP BY 1 HAVING count(*) >= 3) g USING (candidate_person)
JOIN person_records pr ON pr.person_id = e.candidate_person
GROUP BY e.entity_type, e.entity_id, e.candidate_person

UNION ALL
-- velocity_spike: 10+ referrals in the last 30 days and more than 3x the person's monthly average before
SELECT 'velocity_spike', 'referrer', rf.referrer_id, 0.8,
       json_object('referrer_id', rf.referrer_id, 'person_id', v.referrer_person, 'records', any_value(pr.records),
                   'referrals_last_30_days', any_value(v.n30),
                   'monthly_average_prior_12_months', round(any_value(v.n_prior) / 12.0, 2))
FROM rf
JOIN (SELECT referrer_person,
             count(*) FILTER (WHERE referred_at >= getvariable('cutoff') - INTERVAL 30 DAY) AS n30,
             count(*) FILTER (WHERE referred_at < getvariable('cutoff') - INTERVAL 30 DAY
                                AND referred_at >= getvariable('cutoff') - INTERVAL 395 DAY) AS n_prior
      FROM rf GROUP BY referrer_person) v USING (referrer_person)
JOIN person_records pr ON pr.person_id = v.referrer_person
WHERE v.n30 >= 10 AND v.n30 > 3 * v.n_prior / 12.0 AND rf.referred_at >= getvariable('cutoff') - INTERVAL 30 DAY
GROUP BY rf.referrer_id, v.referrer_person;
"""


def _decide(con: duckdb.DuckDBPyConnection) -> None:
    """The product's payout policy over the flags: void, hold, release for due pending payouts,
    clawback for released ones that are not owed or whose people show a pattern."""
    con.execute("""
        CREATE TABLE person_patterns AS
        SELECT DISTINCT f.pattern, i.person_id
        FROM flags f JOIN ident i ON i.record_type = f.entity_type AND i.record_id = f.entity_id
        UNION
        SELECT f.pattern, rf.referrer_person
        FROM flags f JOIN rf ON f.entity_type = 'referral' AND rf.referral_id = f.entity_id
        WHERE f.pattern = 'self_referral';

        CREATE TABLE payout_people AS
        SELECT p.payout_id, p.status, p.eligible_at, p.hire_id, p.referral_id,
               ir.person_id AS referrer_person, ic.person_id AS candidate_person
        FROM payouts p
        LEFT JOIN ident ir ON ir.record_type = 'referrer' AND ir.record_id = p.referrer_id
        LEFT JOIN hires h ON h.hire_id = p.hire_id
        LEFT JOIN ident ic ON ic.record_type = 'candidate' AND ic.record_id = h.candidate_id;

        CREATE TABLE payout_codes AS
        SELECT p.payout_id, f.pattern
        FROM payout_people p JOIN flags f ON f.entity_type = 'hire' AND f.entity_id = p.hire_id
        WHERE f.pattern = 'early_exit'
        UNION
        SELECT p.payout_id, f.pattern
        FROM payout_people p JOIN flags f ON f.entity_type = 'referral' AND f.entity_id = p.referral_id
        WHERE f.pattern IN ('duplicate_referral', 'late_referral')
        UNION
        SELECT p.payout_id, pp.pattern
        FROM payout_people p JOIN person_patterns pp
          ON pp.person_id = p.referrer_person OR pp.person_id = p.candidate_person
        WHERE list_contains(getvariable('hold_codes'), pp.pattern);
    """)
    con.execute("""
        CREATE TABLE decisions AS
        WITH c AS (
            SELECT p.payout_id, p.status, p.eligible_at,
                   string_agg(pc.pattern, ';' ORDER BY o.ord)
                       FILTER (WHERE list_contains(getvariable('void_codes'), pc.pattern)) AS void_reasons,
                   string_agg(pc.pattern, ';' ORDER BY o.ord)
                       FILTER (WHERE list_contains(getvariable('hold_codes'), pc.pattern)) AS hold_reasons,
                   string_agg(pc.pattern, ';' ORDER BY o.ord)
                       FILTER (WHERE list_contains(getvariable('void_codes'), pc.pattern)
                                  OR list_contains(getvariable('clawback_codes'), pc.pattern)) AS claw_reasons
            FROM payout_people p
            LEFT JOIN payout_codes pc USING (payout_id)
            LEFT JOIN pattern_order o ON o.pattern = pc.pattern
            GROUP BY p.payout_id, p.status, p.eligible_at
        )
        SELECT payout_id,
               CASE WHEN status = 'released' THEN 'clawback'
                    WHEN void_reasons IS NOT NULL THEN 'void'
                    WHEN hold_reasons IS NOT NULL THEN 'hold'
                    ELSE 'release' END AS decision,
               CASE WHEN status = 'released' THEN claw_reasons
                    ELSE coalesce(void_reasons, hold_reasons) END AS reasons
        FROM c
        WHERE (status = 'pending' AND eligible_at <= getvariable('as_of'))
           OR (status = 'released' AND claw_reasons IS NOT NULL)
        ORDER BY payout_id;
    """)


def _digest(landing: Path, as_of: dt.date, decisions: list[tuple]) -> str:
    h = hashlib.sha256()
    h.update(f"{RUN_ID}|{as_of.isoformat()}\n".encode())
    for path in sorted(p for p in landing.iterdir() if p.suffix in (".csv", ".parquet")):
        h.update(path.name.encode() + b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    for row in decisions:
        h.update(("|".join("" if v is None else str(v) for v in row) + "\n").encode())
    return h.hexdigest()


def baseline_run(landing: Path, as_of: dt.date, out: Path) -> Path:
    """Screen `landing` as of `as_of` with the textbook rules and publish the result in `out`."""
    landing, out = Path(landing), Path(out)
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    out.mkdir(parents=True, exist_ok=True)
    cutoff = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())  # everything before the next day

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.create_function("to_ascii", anyascii, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"))
        con.execute(_MACROS)
        for name, value in (("run_id", RUN_ID), ("as_of", as_of), ("cutoff", cutoff),
                            ("void_codes", list(VOID_CODES)), ("hold_codes", list(HOLD_CODES)),
                            ("clawback_codes", list(CLAWBACK_PERSON_CODES))):
            con.execute(f"SET VARIABLE {name} = ?", [value])
        con.execute("CREATE TABLE pattern_order AS "  # the contract's order of codes, for reasons and flag ids
                    "SELECT unnest(?::VARCHAR[]) AS pattern, unnest(generate_series(1, ?)) AS ord",
                    [list(PATTERNS), len(PATTERNS)])
        rows_in = _load(con, landing)
        _typed(con)
        loaded = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        persons = _identities(con, out / "identities.csv")

        con.execute(_FACTS_SQL)
        con.execute(_RULES_SQL)
        con.execute("""
            CREATE TABLE flags AS
            SELECT printf('BL%06d', row_number() OVER (ORDER BY o.ord, f.entity_type, f.entity_id)) AS flag_id,
                   getvariable('run_id') AS run_id, f.pattern, f.entity_type, f.entity_id, f.score,
                   -- a pattern that can be innocent is medium, one that makes a bounty not owed or abusive high
                   CASE WHEN f.pattern IN ('job_hopping', 'velocity_spike') THEN 'medium' ELSE 'high' END AS severity,
                   f.evidence::VARCHAR AS evidence
            FROM (SELECT DISTINCT ON (pattern, entity_type, entity_id) * FROM raw_flags
                  ORDER BY pattern, entity_type, entity_id, evidence::VARCHAR) f
            JOIN pattern_order o USING (pattern)
            WHERE f.entity_id IS NOT NULL
        """)
        _decide(con)

        decisions = con.execute("SELECT payout_id, decision, reasons FROM decisions ORDER BY payout_id").fetchall()
        sha = _digest(landing, as_of, decisions)
        con.execute(f"""
            COPY (SELECT flag_id, run_id, pattern, entity_type, entity_id, score, severity, evidence
                  FROM flags ORDER BY flag_id)
            TO {_sql_str(out / 'flags.csv')} (FORMAT csv, HEADER true)
        """)
        con.execute(f"""
            COPY (SELECT payout_id, decision, reasons, {_sql_str(RUN_ID)} AS run_id, {_sql_str(sha)} AS report_sha256
                  FROM decisions ORDER BY payout_id)
            TO {_sql_str(out / 'payout_decisions.csv')} (FORMAT csv, HEADER true)
        """)
        flag_counts = dict(con.execute("SELECT pattern, count(*) FROM flags GROUP BY 1").fetchall())
        decision_counts = dict(con.execute("SELECT decision, count(*) FROM decisions GROUP BY 1").fetchall())
    finally:
        con.close()

    report = {
        "run_id": RUN_ID,
        "as_of": as_of.isoformat(),
        "status": "clean",
        "method": "textbook baseline (bountyguard.evaluation.baseline): exact identity keys, one rule per pattern",
        "rows": {t: {"in": rows_in[t], "loaded": loaded[t]} for t in TABLES},
        "persons": persons,
        "flags": {p: flag_counts.get(p, 0) for p in PATTERNS},
        "decisions": {d: decision_counts.get(d, 0) for d in ("release", "hold", "void", "clawback")},
        "report_sha256": sha,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """python -m bountyguard.evaluation.baseline --landing DIR --as-of DATE --out DIR [--truth DIR]"""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--landing", required=True, type=Path)
    ap.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--truth", type=Path, help="score the result against this truth folder")
    args = ap.parse_args(argv)
    out = baseline_run(args.landing, args.as_of, args.out)
    print(f"wrote {out}")
    if args.truth:
        from bountyguard.evaluation.scores import evaluate, format_scores

        print(format_scores(evaluate(out, args.truth, args.landing)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
