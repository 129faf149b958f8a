"""A large, contract-conformant landing folder for benchmarks, generated inside DuckDB SQL.

    python -m bountyguard.bench_platform --referrals 1000000 --out /tmp/bg-bench/landing [--seed 1]
    python -m bountyguard.bench_platform --referrals 1000000 --increment-of /tmp/bg-bench/landing \
        --out /tmp/bg-bench/increment          # ~0.1% new/changed rows: one day's data

Every column is a pure function of (seed, table, row number) via DuckDB's hash(), so a folder is
deterministic per seed and DuckDB version, and 10M referrals take well under a minute on 2 cores.
Sizes for N referrals: N/1.5 candidates, N/8 referrers, 2,000 companies, 20,000 jobs, N/4 hires
(90% referred, a share ended, some before their guarantee end), one payout per referred hire, N/3
applications.

Identity resolution gets real work: names are drawn from skewed pools of German, Polish and
transliterated Ukrainian names with a long tail of composed surnames; e-mails, phones (six typing
styles of valid mobile numbers) and IBANs (grouped/compact/lower case; 0.5% with a wrong checksum,
which are quarantined) vary per record. About 3% of candidate records and 2% of referrer
records are a second record of an earlier person (a candidate or, for referrers, also a candidate:
self-referral material), with spelling variants: typo, umlaut folding, reversed order, middle name,
e-mail alias, another phone style, city alias, or a missing birth date.

This is NOT the labelled generator (`bountyguard generate`): there is no planted abuse and no truth,
only volume with realistic shape. Every row passes ingest (types, enums, foreign keys) and the
validation gate's row and cross-table checks.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import duckdb

AS_OF = "2026-06-30"  # the full snapshot's as-of date
INCREMENT_AS_OF = "2026-07-01"  # the increment is the next day's data
N_COMPANIES = 2_000
N_JOBS = 20_000

FIRST_DE = ["Thomas", "Michael", "Andreas", "Stefan", "Christian", "Markus", "Daniel", "Tobias", "Jan", "Lukas",
            "Felix", "Jonas", "Maximilian", "Sebastian", "Florian", "Jürgen", "Uwe", "Klaus", "Anna", "Julia",
            "Laura", "Sarah", "Lisa", "Katharina", "Sabine", "Claudia", "Nicole", "Lena", "Jana", "Sophie",
            "Mia", "Hannah", "Jörg", "Björn", "Günther", "Käthe", "Lea", "Marie", "Paul", "Leon"]
FIRST_PL = ["Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Łukasz", "Grzegorz",
            "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Magdalena", "Joanna", "Zofia", "Wojciech"]
FIRST_UA = ["Oleksandr", "Olexandr", "Serhii", "Sergiy", "Andrii", "Andriy", "Dmytro", "Dmitry", "Mykola",
            "Nikolay", "Yuliia", "Yulia", "Olena", "Elena", "Iryna", "Irina", "Tetiana", "Tatiana", "Natalia"]
LAST_COMMON = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
               "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
               "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
               "Krause", "Meier", "Lehmann", "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk",
               "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski",
               "Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Oliinyk", "Shevchuk",
               "Polishchuk", "Melnyk", "Boyko", "Petrov", "Ivanov", "Smirnov", "Kuznetsov"]
LAST_STEM = ["Berg", "Wald", "Stein", "Hof", "Brand", "Kirch", "Lind", "Rosen", "Sonnen", "Feld", "Neu", "Alt",
             "Schön", "Grün", "Kal", "Mar", "Wis", "Kow", "Lew", "Dąb", "Ziel", "Sadow", "Kra", "Pet", "Iwan",
             "Kowal", "Bond", "Tkach", "Hub", "Lau", "Eich", "Buch", "Ost", "West", "Sturm", "Fuchs"]
LAST_TAIL = ["mann", "er", "ski", "enko", "uk", "berger", "feld", "hauser", "owicz", "czyk", "ow", "in", "ek",
             "ke", "bach", "dorf", "hagen", "meier", "ich", "ewicz"]
MIDDLE = ["Maria", "Peter", "Johannes", "Alexander", "Sophie", "Luise"]
# (country, weight, cities: canonical spelling + spellings a user may type instead)
CITIES = {
    "DE": (0.55, [["Berlin", "berlin", "Berlin-Mitte"], ["Hamburg"], ["München", "Muenchen", "Munich"],
                  ["Köln", "Koeln", "Cologne"], ["Frankfurt am Main", "Frankfurt"], ["Stuttgart"], ["Düsseldorf",
                  "Duesseldorf"], ["Leipzig"], ["Dortmund"], ["Essen"], ["Bremen"], ["Dresden"], ["Hannover"],
                  ["Nürnberg", "Nuernberg"], ["Bonn"], ["Mannheim"], ["Karlsruhe"], ["Freiburg"], ["Kiel"],
                  ["Aachen"]]),
    "PL": (0.20, [["Warszawa", "Warsaw"], ["Kraków", "Krakow"], ["Wrocław", "Wroclaw"], ["Gdańsk", "Gdansk"],
                  ["Poznań", "Poznan"]]),
    "AT": (0.10, [["Wien", "Vienna"], ["Graz"], ["Linz"], ["Salzburg"], ["Innsbruck"]]),
    "CH": (0.07, [["Zürich", "Zurich"], ["Genève", "Geneva"], ["Basel"], ["Bern"], ["Lausanne"]]),
    "UA": (0.08, [["Kyiv", "Kiev"], ["Kharkiv"], ["Lviv"], ["Odesa", "Odessa"], ["Dnipro"]]),
}
COUNTRY_CODE = {"DE": "49", "AT": "43", "CH": "41", "PL": "48", "UA": "380"}
MOBILE = {  # national mobile prefixes; subscriber digits: 8 for DE/AT "long" prefixes, else 7
    "DE": ["151", "152", "157", "176", "177", "178", "179"], "AT": ["650", "660", "664", "676"],
    "CH": ["76", "77", "78", "79"], "PL": ["50", "51", "53", "60", "66", "69", "72", "78", "79", "88"],
    "UA": ["50", "63", "66", "67", "68", "73", "93", "95", "96", "97"],
}
IBAN_LAYOUT = {  # bank codes, account digits, the country's letters as ISO 13616 digits
    "DE": (["10010010", "37040044", "50010517", "20041133", "12030000", "10070000"], 10, "1314"),
    "AT": (["20111", "12000", "14000", "32000", "60000"], 11, "1029"),
    "CH": (["00230", "00700", "09000", "00762"], 12, "1217"),
    "PL": (["10201026", "11602202", "10501038", "12401037"], 16, "2521"),
    "UA": (["305299", "322001", "300528", "320649"], 19, "3010"),
}
MAIL_DOMAINS = ["gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.com", "yahoo.com", "wp.pl", "onet.pl",
                "ukr.net", "icloud.com"]
JOB_TITLES = ["Java Developer", "Senior Python Developer", "Data Engineer", "DevOps Engineer", "SAP Consultant",
              "Frontend Developer", "Product Owner", "Scrum Master", "Nurse", "Electrician", "Truck Driver",
              "Sales Manager", "Accountant", "Mechatronics Technician", "QA Engineer", "Cloud Architect"]


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


class Gen:
    """SQL expression builders over a row number, all seeded."""

    def __init__(self, seed: int):
        self.seed = seed

    def h(self, tag: str, i: str) -> str:
        return f"hash({self.seed}, {_lit(tag)}, {i})"

    def u(self, tag: str, i: str) -> str:  # uniform [0, 1)
        return f"(({self.h(tag, i)} % 1000003) / 1000003.0)"

    def n(self, tag: str, i: str, k: int | str) -> str:  # uniform integer 0 .. k-1
        return f"({self.h(tag, i)} % ({k}))::BIGINT"

    def pick(self, tag: str, i: str, values: list[str], skew: float = 1.0) -> str:
        """One of `values`; skew > 1 favours the first ones (a Zipf-like head)."""
        idx = f"floor(pow({self.u(tag, i)}, {skew}) * {len(values)})::BIGINT" if skew != 1 else self.n(tag, i, len(values))
        return f"({_list(values)})[1 + {idx}]"

    def digits(self, tag: str, i: str, k: int) -> str:
        """k pseudo-random decimal digits (leading zeros kept)."""
        parts, left, j = [], k, 0
        while left > 0:
            take = min(left, 15)
            parts.append(f"lpad(({self.h(f'{tag}#{j}', i)} % {10 ** take})::VARCHAR, {take}, '0')")
            left -= take
            j += 1
        return " || ".join(parts)


def _person_sql(g: Gen, src: str) -> str:
    """Columns of a person from its number `p` (same p -> same attributes), in a SELECT over `src`
    which has columns i (record number) and p (person number)."""
    countries = list(CITIES)
    bounds, acc = [], 0.0
    for c in countries:
        acc += CITIES[c][0]
        bounds.append((c, acc))
    country = "CASE " + " ".join(f"WHEN {g.u('country', 'p')} < {b} THEN '{c}'" for c, b in bounds[:-1]) + \
              f" ELSE '{bounds[-1][0]}' END"
    first = (f"CASE country WHEN 'PL' THEN {g.pick('first_pl', 'p', FIRST_PL, 1.5)} "
             f"WHEN 'UA' THEN {g.pick('first_ua', 'p', FIRST_UA, 1.5)} "
             f"ELSE {g.pick('first_de', 'p', FIRST_DE, 1.5)} END")
    tail_last = f"{g.pick('stem', 'p', LAST_STEM)} || {g.pick('tail', 'p', LAST_TAIL)}"
    last = f"CASE WHEN {g.u('lastkind', 'p')} < 0.6 THEN {g.pick('last', 'p', LAST_COMMON, 2.0)} ELSE {tail_last} END"
    city_cases = []
    for c in countries:
        canon = [alts[0] for alts in CITIES[c][1]]
        city_cases.append(f"WHEN '{c}' THEN {g.pick('city_' + c, 'p', canon, 2.0)}")
    city = "CASE country " + " ".join(city_cases) + " END"
    mobile_cases = " ".join(f"WHEN '{c}' THEN {g.pick('mob_' + c, 'p', v)}" for c, v in MOBILE.items())
    sub_len = "CASE WHEN country = 'DE' AND mobile_prefix IN ('151', '152', '157', '176', '177', '178', '179') THEN 8 ELSE 7 END"
    bank_cases = " ".join(f"WHEN '{c}' THEN {g.pick('bank_' + c, 'p', v[0])}" for c, v in IBAN_LAYOUT.items())
    acct_cases = " ".join(f"WHEN '{c}' THEN left({g.digits('acct', 'p', 19)}, {v[1]})" for c, v in IBAN_LAYOUT.items())
    letters = " ".join(f"WHEN '{c}' THEN '{v[2]}'" for c, v in IBAN_LAYOUT.items())
    return f"""
    WITH a AS (SELECT *, {country} AS country FROM {src}),
    b AS (SELECT *, {first} AS first_name, {last} AS last_name, {city} AS city_canon,
                 CASE country {mobile_cases} END AS mobile_prefix,
                 DATE '1960-01-01' + {g.n('birth', 'p', 45 * 365)}::INTEGER AS birth,
                 {g.pick('mail', 'p', MAIL_DOMAINS, 1.6)} AS mail_domain,
                 CASE country {bank_cases} END AS bank, CASE country {acct_cases} END AS account,
                 CASE country {letters} END AS iban_letters
          FROM a)
    SELECT *, left({g.digits('sub', 'p', 8)}, {sub_len}) AS subscriber,
           lpad((98 - ((bank || account || iban_letters || '00')::HUGEINT % 97))::VARCHAR, 2, '0') AS iban_check
    FROM b"""


def _variant_sql(g: Gen, kind: str) -> str:
    """full_name, email, phone, birth_date, city as typed on record i of person p: the person's first
    record types them plainly; a duplicate record (i <> first record) varies them."""
    dup = "is_dup"
    v = g.n(f'{kind}_var', 'i', 8)
    fold = ("replace(replace(replace(replace(replace(replace({x}, 'ü', 'ue'), 'ö', 'oe'), 'ä', 'ae'), 'ß', 'ss'), "
            "'ł', 'l'), 'Ł', 'L')")
    name_plain = "first_name || ' ' || last_name"
    typo_pos = f"(1 + {g.n(kind + '_typo', 'i', 'greatest(length(last_name) - 1, 1)')})"
    name_dup = f"""CASE {v}
        WHEN 0 THEN first_name || ' ' || left(last_name, {typo_pos} - 1) || substr(last_name, {typo_pos} + 1)
        WHEN 1 THEN {fold.format(x=name_plain)}
        WHEN 2 THEN last_name || ', ' || first_name
        WHEN 3 THEN first_name || ' ' || {g.pick(kind + '_mid', 'i', MIDDLE)} || ' ' || last_name
        WHEN 4 THEN upper({name_plain})
        WHEN 5 THEN lower({fold.format(x=name_plain)})
        ELSE {name_plain} END"""
    local = f"lower({fold.format(x='first_name')}) || '.' || lower({fold.format(x='last_name')}) || (p % 997)::VARCHAR"
    local = f"strip_accents({local})"
    email_plain = f"{local} || '@' || mail_domain"
    email_dup = f"""CASE {g.n(kind + '_mailvar', 'i', 5)}
        WHEN 0 THEN {local} || '+' || {g.pick(kind + '_tag', 'i', ['jobs', 'work', 'ref', 'x'])} || '@' || mail_domain
        WHEN 1 THEN upper({local}) || '@' || mail_domain
        WHEN 2 THEN replace({local}, '.', '') || '@' || mail_domain
        WHEN 3 THEN {local} || '.' || {g.n(kind + '_other', 'i', 100)}::VARCHAR || '@' || {g.pick(kind + '_od', 'i', MAIL_DOMAINS)}
        ELSE {email_plain} END"""
    cc = "CASE country " + " ".join(f"WHEN '{c}' THEN '{v}'" for c, v in COUNTRY_CODE.items()) + " END"
    trunk = "CASE WHEN country = 'PL' THEN '' ELSE '0' END"
    style = f"{g.n(kind + '_phonestyle', 'i', 6)}"
    phone = f"""CASE {style}
        WHEN 0 THEN '+' || {cc} || ' ' || mobile_prefix || ' ' || subscriber
        WHEN 1 THEN {trunk} || mobile_prefix || ' ' || subscriber
        WHEN 2 THEN '00' || {cc} || '-' || mobile_prefix || '-' || subscriber
        WHEN 3 THEN '(' || {trunk} || mobile_prefix || ') ' || left(subscriber, 3) || ' ' || substr(subscriber, 4)
        WHEN 4 THEN '+' || {cc} || mobile_prefix || subscriber
        ELSE {trunk} || mobile_prefix || '/' || subscriber END"""
    city_alias_cases = []
    for c, (_, cities) in CITIES.items():
        for alts in cities:
            if len(alts) > 1:
                city_alias_cases.append(f"WHEN {_lit(alts[0])} THEN {g.pick(kind + '_calias', 'i', alts)}")
    city_dup = f"CASE city_canon {' '.join(city_alias_cases)} ELSE city_canon END"
    return f"""
        CASE WHEN {dup} THEN {name_dup} ELSE {name_plain} END AS full_name,
        CASE WHEN {g.u(kind + '_noemail', 'i')} < 0.05 THEN NULL
             WHEN {dup} THEN {email_dup} ELSE {email_plain} END AS email,
        CASE WHEN {g.u(kind + '_nophone', 'i')} < 0.15 THEN NULL ELSE {phone} END AS phone,
        CASE WHEN {g.u(kind + '_nobirth', 'i')} < (CASE WHEN {dup} THEN 0.2 ELSE 0.05 END) THEN NULL
             ELSE birth END AS birth_date,
        CASE WHEN {g.u(kind + '_nocity', 'i')} < 0.05 THEN NULL
             WHEN {dup} THEN {city_dup} ELSE city_canon END AS city"""


def _ts(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m-%dT%H:%M:%SZ')"


def _iban_sql(g: Gen) -> str:
    """As typed: grouped, compact or lower case; 0.5% with wrong check digits (quarantined: their payouts
    are held with data_inconsistent; below the 1% that would make the data as a whole not clean)."""
    raw = (f"iban_letters_cc || CASE WHEN {g.u('iban_bad', 'i')} < 0.005 "
           f"THEN lpad(((iban_check::INTEGER + 1) % 97 + 2)::VARCHAR, 2, '0') ELSE iban_check END || bank || account")
    grouped = "trim(regexp_replace({x}, '(.{{4}})', '\\1 ', 'g'))"
    return f"""CASE {g.n('iban_style', 'i', 4)}
        WHEN 0 THEN {grouped.format(x=raw)}
        WHEN 1 THEN {raw}
        WHEN 2 THEN lower({grouped.format(x=raw)})
        ELSE lower({raw}) END"""


def build(con: duckdb.DuckDBPyConnection, out: Path, n: int, seed: int) -> dict:
    g = Gen(seed)
    out.mkdir(parents=True, exist_ok=True)
    n_cand, n_ref, n_hire, n_app = int(n / 1.5), max(n // 8, 10), n // 4, n // 3
    sizes = {"referrals": n, "candidates": n_cand, "referrers": n_ref, "companies": N_COMPANIES, "jobs": N_JOBS,
             "hires": n_hire, "applications": n_app}
    con.execute(f"SET VARIABLE n_cand = {n_cand}; SET VARIABLE n_ref = {n_ref}")

    def copy(table: str, sql: str) -> None:
        con.execute(f"COPY ({sql}) TO '{out / (table + '.parquet')}' (FORMAT parquet, COMPRESSION zstd, "
                    "ROW_GROUP_SIZE 122880)")

    # companies and jobs
    countries = ["DE", "DE", "DE", "AT", "CH", "PL", "PL", "UA"]
    copy("companies", f"""
        SELECT 'C' || lpad(i::VARCHAR, 6, '0') AS company_id,
               {g.pick('co_stem', 'i', LAST_STEM)} || {g.pick('co_tail', 'i', ['tech', 'soft', 'werk', 'logistik', 'systems', 'consult', 'care', 'bau'])}
                 || ' ' || {g.pick('co_form', 'i', ['GmbH', 'AG', 'SE', 'Sp. z o.o.', 'TOV'])} AS name,
               {g.pick('co_country', 'i', countries)} AS country
        FROM range({N_COMPANIES}) t(i)""")
    copy("jobs", f"""
        SELECT 'J' || lpad(i::VARCHAR, 6, '0') AS job_id,
               'C' || lpad({g.n('job_co', 'i', N_COMPANIES)}::VARCHAR, 6, '0') AS company_id,
               {g.pick('job_title', 'i', JOB_TITLES)} AS title,
               (1000 + 250 * {g.n('job_bounty', 'i', 13)})::DECIMAL(12,2) AS bounty_amount,
               'EUR' AS currency,
               ([30, 60, 90, 90, 180])[1 + {g.n('job_guar', 'i', 5)}] AS guarantee_days,
               {_ts("TIMESTAMP '2022-06-01' + INTERVAL (" + g.n('job_posted', 'i', 365 * 24 * 60) + ") MINUTE")} AS posted_at
        FROM range({N_JOBS}) t(i)""")

    # candidates: 3% are a second record of an earlier candidate person
    cand_src = f"""(SELECT i, CASE WHEN i > 100 AND {g.u('cand_dup', 'i')} < 0.03 THEN {g.n('cand_dup_of', 'i', 'i')} ELSE i END AS p,
                          i > 100 AND {g.u('cand_dup', 'i')} < 0.03 AS is_dup FROM range({n_cand}) t(i))"""
    copy("candidates", f"""
        SELECT 'K' || lpad(i::VARCHAR, 9, '0') AS candidate_id,
               {_variant_sql(g, 'cand')},
               CASE WHEN {g.u('profile', 'i')} < 0.35 THEN 'https://www.linkedin.com/in/' || lower(strip_accents(first_name))
                        || '-' || lower(strip_accents(last_name)) || '-' || (p % 9973)::VARCHAR
                    WHEN {g.u('profile', 'i')} < 0.5 THEN 'https://www.xing.com/profile/' || strip_accents(first_name)
                        || '_' || strip_accents(last_name) || (p % 97)::VARCHAR
               END AS profile_url,
               {_ts("TIMESTAMP '2021-01-01' + INTERVAL (" + g.n('cand_created', 'i', 5 * 365 * 1440) + ") MINUTE")} AS created_at,
               CASE WHEN {g.u('cand_upd', 'i')} < 0.2 THEN {_ts("TIMESTAMP '2026-06-01' + INTERVAL (" + g.n('cand_upd_at', 'i', 29 * 1440) + ") MINUTE")} END AS updated_at
        FROM ({_person_sql(g, cand_src)})""")

    # referrers: person numbers above the candidates'; 1% are also a candidate person, 1% a second
    # account of an earlier referrer person
    ref_src = f"""(SELECT i,
              CASE WHEN i > 100 AND {g.u('ref_dup', 'i')} < 0.01 THEN {g.n('ref_cand', 'i', n_cand)}
                   WHEN i > 100 AND {g.u('ref_dup', 'i')} < 0.02 THEN {n_cand} + {g.n('ref_dup_of', 'i', 'i')}
                   ELSE {n_cand} + i END AS p,
              i > 100 AND {g.u('ref_dup', 'i')} < 0.02 AS is_dup FROM range({n_ref}) t(i))"""
    copy("referrers", f"""
        SELECT 'R' || lpad(i::VARCHAR, 8, '0') AS referrer_id,
               full_name, email, phone,
               CASE WHEN {g.u('noiban', 'i')} < 0.1 THEN NULL ELSE {_iban_sql(g)} END AS payout_iban,
               birth_date, city, signed_up_at, updated_at
        FROM (SELECT *, {_variant_sql(g, 'ref')},
                     country AS iban_letters_cc,
                     {_ts("TIMESTAMP '2021-01-01' + INTERVAL (" + g.n('ref_signup', 'i', 2 * 365 * 1440) + ") MINUTE")} AS signed_up_at,
                     CASE WHEN {g.u('ref_upd', 'i')} < 0.2 THEN {_ts("TIMESTAMP '2026-06-01' + INTERVAL (" + g.n('ref_upd_at', 'i', 29 * 1440) + ") MINUTE")} END AS updated_at
              FROM ({_person_sql(g, ref_src)}))""")

    # referrals: busy referrers (skewed), candidates and jobs uniform, 2023-01-01 .. 2026-06-29
    con.execute(f"""CREATE OR REPLACE MACRO ref_referrer(i) AS
        'R' || lpad(floor(pow({g.u('rr', 'i')}, 2.5) * {n_ref})::BIGINT::VARCHAR, 8, '0')""")
    con.execute(f"CREATE OR REPLACE MACRO ref_candidate(i) AS 'K' || lpad({g.n('rc', 'i', n_cand)}::VARCHAR, 9, '0')")
    con.execute(f"CREATE OR REPLACE MACRO ref_job_n(i) AS {g.n('rj', 'i', N_JOBS)}")
    con.execute(f"CREATE OR REPLACE MACRO ref_at(i) AS TIMESTAMP '2023-01-01' + INTERVAL ({g.n('rt', 'i', 1276 * 1440)}) MINUTE")
    copy("referrals", f"""
        SELECT 'F' || lpad(i::VARCHAR, 9, '0') AS referral_id, ref_referrer(i) AS referrer_id,
               ref_candidate(i) AS candidate_id, 'J' || lpad(ref_job_n(i)::VARCHAR, 6, '0') AS job_id,
               {_ts('ref_at(i)')} AS referred_at,
               {g.pick('channel', 'i', ['linkedin', 'xing', 'email', 'link', 'facebook', 'other'], 1.3)} AS channel,
               CASE WHEN {g.u('noip', 'i')} < 0.1 THEN NULL ELSE
                 (77 + {g.n('ip1', 'i', 100)})::VARCHAR || '.' || {g.n('ip2', 'i', 256)}::VARCHAR || '.'
                 || {g.n('ip3', 'i', 256)}::VARCHAR || '.' || {g.n('ip4', 'i', 256)}::VARCHAR END AS ip_address,
               CASE WHEN {g.u('nodev', 'i')} < 0.2 THEN NULL ELSE 'dev-' || left(md5(ref_referrer(i) || {g.n('dev', 'i', 3)}::VARCHAR), 12) END AS device_id
        FROM range({n}) t(i)""")

    # hires: hire k of referral 4k (90%) or unreferred (10%); hired 3..60 days after the referral,
    # started 7..45 days later; 30% ended, a third of those before their guarantee end
    jobs = f"read_parquet('{out / 'jobs.parquet'}')"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bench_hires AS
        WITH base AS (
            SELECT k, k % 10 <> 9 AS referred, 4 * k AS ri FROM range({n_hire}) t(k)
        ), h AS (
            SELECT k, referred,
                   CASE WHEN referred THEN 'F' || lpad(ri::VARCHAR, 9, '0') END AS referral_id,
                   CASE WHEN referred THEN ref_candidate(ri) ELSE 'K' || lpad({g.n('hc', 'k', n_cand)}::VARCHAR, 9, '0') END AS candidate_id,
                   CASE WHEN referred THEN ref_job_n(ri) ELSE {g.n('hj', 'k', N_JOBS)} END AS job_n,
                   CASE WHEN referred THEN ref_referrer(ri) END AS referrer_id,
                   CASE WHEN referred THEN ref_at(ri) ELSE TIMESTAMP '2023-01-01' + INTERVAL ({g.n('ht', 'k', 1276 * 1440)}) MINUTE END
                     + INTERVAL (3 * 1440 + {g.n('hd', 'k', 57 * 1440)}) MINUTE AS hired_at
            FROM base
        )
        SELECT h.*, 'H' || lpad(k::VARCHAR, 9, '0') AS hire_id, 'J' || lpad(job_n::VARCHAR, 6, '0') AS job_id,
               hired_at::DATE + (7 + {g.n('hs', 'k', 39)})::INTEGER AS started_at,
               j.guarantee_days, j.bounty_amount, j.currency,
               {g.u('hend', 'k')} AS end_u
        FROM h JOIN {jobs} j ON j.job_id = 'J' || lpad(job_n::VARCHAR, 6, '0')""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bench_hires2 AS
        SELECT *, CASE WHEN e <= DATE '{AS_OF}' AND e >= started_at THEN e END AS ended_at
        FROM (SELECT *, CASE WHEN end_u < 0.10 THEN started_at + (1 + {g.n('e1', 'k', 'greatest(guarantee_days - 1, 1)')})::INTEGER
                             WHEN end_u < 0.30 THEN started_at + (guarantee_days + {g.n('e2', 'k', 700)})::INTEGER
                        END AS e FROM bench_hires)""")
    copy("hires", f"""
        SELECT hire_id, referral_id, candidate_id, job_id, {_ts('hired_at')} AS hired_at, started_at, ended_at,
               CASE WHEN ended_at IS NOT NULL THEN {g.pick('reason', 'k', ['resigned', 'dismissed', 'probation_failed', 'contract_end', 'other'])} END AS end_reason,
               {_ts("greatest(hired_at, coalesce(ended_at::TIMESTAMP, hired_at)) + INTERVAL 1 HOUR")} AS updated_at
        FROM bench_hires2 ORDER BY k""")
    # payouts: one per referred hire; released when due for 30+ days and not ended early
    copy("payouts", f"""
        SELECT 'P' || lpad(k::VARCHAR, 9, '0') AS payout_id, hire_id, referral_id, referrer_id,
               bounty_amount AS amount, currency, eligible_at, status,
               CASE WHEN status = 'released' THEN {_ts("eligible_at + INTERVAL (1440 + " + g.n('rel', 'k', 4 * 1440) + ") MINUTE")} END AS released_at,
               {_ts("CASE WHEN status = 'released' THEN eligible_at + INTERVAL 6 DAY ELSE hired_at + INTERVAL 2 HOUR END")} AS updated_at
        FROM (SELECT *, started_at + guarantee_days AS eligible_at,
                     CASE WHEN started_at + guarantee_days <= DATE '{AS_OF}' - 30
                               AND (ended_at IS NULL OR ended_at >= started_at + guarantee_days)
                          THEN 'released' ELSE 'pending' END AS status
              FROM bench_hires2 WHERE referred)
        ORDER BY k""")
    sizes["payouts"] = con.execute("SELECT count(*) FROM bench_hires2 WHERE referred").fetchone()[0]
    copy("applications", f"""
        SELECT 'A' || lpad(i::VARCHAR, 9, '0') AS application_id,
               'K' || lpad({g.n('ac', 'i', n_cand)}::VARCHAR, 9, '0') AS candidate_id,
               'J' || lpad({g.n('aj', 'i', N_JOBS)}::VARCHAR, 6, '0') AS job_id,
               {_ts("TIMESTAMP '2023-01-01' + INTERVAL (" + g.n('at', 'i', 1276 * 1440) + ") MINUTE")} AS applied_at,
               {g.pick('source', 'i', ['direct', 'direct', 'referral', 'agency'])} AS source
        FROM range({n_app}) t(i)""")
    con.execute("DROP TABLE bench_hires; DROP TABLE bench_hires2")
    return sizes


def increment_as_of(day: int) -> str:
    """The as-of date of the `day`-th daily increment (day 1 is the day after the full snapshot)."""
    return (dt.date.fromisoformat(AS_OF) + dt.timedelta(days=day)).isoformat()


def build_increment(con: duckdb.DuckDBPyConnection, base: Path, out: Path, n: int, seed: int,
                    share: float = 0.001, day: int = 1) -> dict:
    """The `day`-th day's data after `base` (day 1: INCREMENT_AS_OF): ~share new rows per table plus
    ~share/2 changed existing rows (later updated_at). References point at base rows or at new rows of
    this or earlier days. New ids continue where the earlier days' stopped, and each day changes
    another slice of the base rows (a disjoint hash range), so days 1..D can be loaded in order."""
    g = Gen(seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    n_cand, n_ref, n_hire = int(n / 1.5), max(n // 8, 10), n // 4
    k = lambda total: max(int(total * share), 1)  # noqa: E731
    as_of = increment_as_of(day)
    before = day - 1  # earlier increments: their new ids come first
    day_ts = f"TIMESTAMP '{as_of}'"
    sizes = {}

    def rp(table):
        return f"read_parquet('{base / (table + '.parquet')}')"

    def copy(table: str, sql: str) -> None:
        path = out / (table + ".parquet")
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
        sizes[table] = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]

    def changed(tag: str, key: str, rate: float) -> str:
        """This day's slice of the base rows to change: hash range [before*rate, day*rate)."""
        return f"{g.u(tag, key)} >= {before * rate} AND {g.u(tag, key)} < {day * rate}"

    copy("companies", f"SELECT 'C' || lpad(({N_COMPANIES + 2 * before} + i)::VARCHAR, 6, '0') AS company_id, "
                      f"'Neu' || ({2 * before} + i)::VARCHAR || ' GmbH' AS name, 'DE' AS country FROM range(2) t(i)")
    copy("jobs", f"""SELECT 'J' || lpad(({N_JOBS + 20 * before} + i)::VARCHAR, 6, '0') AS job_id,
                      'C' || lpad({g.n('jc', f'({20 * before} + i)', N_COMPANIES)}::VARCHAR, 6, '0') AS company_id,
                      'Data Engineer' AS title, 2500.00::DECIMAL(12,2) AS bounty_amount, 'EUR' AS currency,
                      90 AS guarantee_days, {_ts(day_ts + ' + INTERVAL 8 HOUR')} AS posted_at FROM range(20) t(i)""")
    # new persons reuse the full snapshot's attribute generator on fresh numbers; changed ones get a
    # new phone style or e-mail and a later updated_at
    new_cand, new_ref = k(n_cand), k(n_ref)
    j = f"({new_cand * before} + i)"
    copy("candidates", f"""
        SELECT 'K' || lpad(({n_cand} + {j})::VARCHAR, 9, '0') AS candidate_id,
               'Neu ' || {g.pick('nf', j, FIRST_DE)} || ' ' || {g.pick('nl', j, LAST_COMMON)} AS full_name,
               'neu' || {j}::VARCHAR || '@gmx.de' AS email, '+49 151 ' || lpad(({g.n('np', j, 10 ** 8)})::VARCHAR, 8, '1') AS phone,
               DATE '1970-01-01' + {g.n('nb', j, 30 * 365)}::INTEGER AS birth_date, 'Berlin' AS city,
               NULL::VARCHAR AS profile_url, {_ts(day_ts + ' + INTERVAL 9 HOUR')} AS created_at,
               {_ts(day_ts + ' + INTERVAL 9 HOUR')} AS updated_at
        FROM range({new_cand}) t(i)
        UNION ALL
        SELECT candidate_id, full_name, lower(coalesce(email, 'changed' || candidate_id || '@web.de')), phone,
               birth_date, city, profile_url, created_at, {_ts(day_ts + ' + INTERVAL 10 HOUR')}
        FROM {rp('candidates')} WHERE {changed('cc', 'hash(candidate_id)', share / 2)}""")
    j = f"({new_ref * before} + i)"
    copy("referrers", f"""
        SELECT 'R' || lpad(({n_ref} + {j})::VARCHAR, 8, '0') AS referrer_id,
               'Neu ' || {g.pick('rf', j, FIRST_PL)} || ' ' || {g.pick('rl', j, LAST_COMMON)} AS full_name,
               'neuref' || {j}::VARCHAR || '@wp.pl' AS email, NULL::VARCHAR AS phone, NULL::VARCHAR AS payout_iban,
               DATE '1975-01-01' + {g.n('rb', j, 25 * 365)}::INTEGER AS birth_date, 'Warszawa' AS city,
               {_ts(day_ts + ' + INTERVAL 9 HOUR')} AS signed_up_at, {_ts(day_ts + ' + INTERVAL 9 HOUR')} AS updated_at
        FROM range({new_ref}) t(i)
        UNION ALL
        SELECT referrer_id, full_name, email, replace(phone, ' ', ''), payout_iban, birth_date, city, signed_up_at,
               {_ts(day_ts + ' + INTERVAL 10 HOUR')}
        FROM {rp('referrers')} WHERE {changed('rc', 'hash(referrer_id)', share / 2)}""")
    new_refs = k(n)
    j = f"({new_refs * before} + i)"
    copy("referrals", f"""
        SELECT 'F' || lpad(({n} + {j})::VARCHAR, 9, '0') AS referral_id,
               'R' || lpad({g.n('rr', j, n_ref + new_ref * day)}::VARCHAR, 8, '0') AS referrer_id,
               'K' || lpad({g.n('rk', j, n_cand + new_cand * day)}::VARCHAR, 9, '0') AS candidate_id,
               'J' || lpad({g.n('rj', j, N_JOBS + 20 * day)}::VARCHAR, 6, '0') AS job_id,
               {_ts(day_ts + ' + INTERVAL (' + g.n('rt', j, 1440) + ') MINUTE')} AS referred_at,
               'linkedin' AS channel, NULL::VARCHAR AS ip_address, NULL::VARCHAR AS device_id
        FROM range({new_refs}) t(i)""")
    j = f"({k(n // 3) * before} + i)"
    copy("applications", f"""
        SELECT 'A' || lpad(({n // 3} + {j})::VARCHAR, 9, '0') AS application_id,
               'K' || lpad({g.n('ak', j, n_cand)}::VARCHAR, 9, '0') AS candidate_id,
               'J' || lpad({g.n('aj', j, N_JOBS)}::VARCHAR, 6, '0') AS job_id,
               {_ts(day_ts + ' + INTERVAL 11 HOUR')} AS applied_at, 'direct' AS source
        FROM range({k(n // 3)}) t(i)""")
    # new hires today of earlier referrals that had none (referral 4k+1 on day 1, 4k+2 on day 2,
    # 4k+3 on day 3: the full snapshot hires referral 4k), with their payouts; changed hires: a
    # running stint ended yesterday
    residue = (day - 1) % 3 + 1
    j = f"({k(n_hire) * before} + i)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE inc_new_hires AS
        SELECT 'H' || lpad(({n_hire} + {j})::VARCHAR, 9, '0') AS hire_id,
               'P' || lpad(({n_hire} + {j})::VARCHAR, 9, '0') AS payout_id, r.*
        FROM (SELECT i, 'F' || lpad((4 * {g.n('hr', j, n_hire)} + {residue})::VARCHAR, 9, '0') AS rid
              FROM range({k(n_hire)}) t(i)) x
        JOIN {rp('referrals')} r ON r.referral_id = x.rid""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE inc_new_hires AS
        SELECT h.*, j.guarantee_days, j.bounty_amount, j.currency, DATE '{as_of}' + 14 AS started_at
        FROM (SELECT DISTINCT ON (referral_id) * FROM inc_new_hires ORDER BY referral_id, hire_id) h
        JOIN {rp('jobs')} j USING (job_id)""")
    copy("hires", f"""
        SELECT hire_id, referral_id, candidate_id, job_id, {_ts(day_ts + ' + INTERVAL 12 HOUR')} AS hired_at,
               started_at, NULL::DATE AS ended_at, NULL::VARCHAR AS end_reason, {_ts(day_ts + ' + INTERVAL 12 HOUR')} AS updated_at
        FROM inc_new_hires
        UNION ALL
        SELECT hire_id, referral_id, candidate_id, job_id, hired_at, started_at, DATE '{as_of}' - 1, 'resigned',
               {_ts(day_ts + ' + INTERVAL 13 HOUR')}
        FROM {rp('hires')}
        WHERE ended_at IS NULL AND started_at < DATE '2026-06-01' AND {changed('hc', 'hash(hire_id)', share)}""")
    copy("payouts", f"""
        SELECT payout_id, hire_id, referral_id, referrer_id, bounty_amount AS amount, currency,
               started_at + guarantee_days AS eligible_at, 'pending' AS status, NULL::VARCHAR AS released_at,
               {_ts(day_ts + ' + INTERVAL 12 HOUR')} AS updated_at
        FROM inc_new_hires
        UNION ALL
        SELECT payout_id, hire_id, referral_id, referrer_id, amount, currency, eligible_at, 'released',
               {_ts(day_ts + ' + INTERVAL 7 HOUR')}, {_ts(day_ts + ' + INTERVAL 7 HOUR')}
        FROM {rp('payouts')} p
        WHERE status = 'pending' AND eligible_at <= DATE '{AS_OF}' - 7 AND {changed('pc', 'hash(payout_id)', share * 20)}
          AND NOT EXISTS (SELECT 1 FROM {rp('hires')} h WHERE h.hire_id = p.hire_id AND h.ended_at IS NOT NULL)""")
    return sizes


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--increment-of", type=Path, help="write one day's increment of this full landing folder")
    parser.add_argument("--day", type=int, default=1, help="with --increment-of: which day after the snapshot (1, 2, ...)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    started = time.perf_counter()
    if args.increment_of:
        sizes = build_increment(con, args.increment_of, args.out, args.referrals, args.seed, day=args.day)
    else:
        sizes = build(con, args.out, args.referrals, args.seed)
    print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{t}={n}" for t, n in sizes.items()))


if __name__ == "__main__":
    main()
