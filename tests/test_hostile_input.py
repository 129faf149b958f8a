"""Hostile landing files (Hypothesis): whatever a platform, or someone typing into it, puts into a CSV
or Parquet file, ingest does not crash, every row is loaded or rejected with a reason (or the whole
file is reported as a problem, which makes the report not clean), text is stored exactly as typed, and
no value ever becomes part of an SQL statement.

Values: SQL metacharacters, quotes and delimiters inside fields, control characters, right-to-left
marks, homoglyphs (Cyrillic "а" for Latin "a"), very long fields, huge and negative numbers, dates out
of range; files: BOMs, wrong encodings (Latin-1, UTF-16), duplicate and missing keys, duplicate,
missing and extra columns. BG_PROPERTY_EXAMPLES sets the number of examples (default 25, about
half a minute; 500 for a thorough run).
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bountyguard.contract import LOAD_ORDER, TABLES
from bountyguard.db import run_sql_file
from bountyguard.ingest import ingest_landing
from tests.builders import Platform

EXAMPLES = int(os.environ.get("BG_PROPERTY_EXAMPLES", "25"))
MARK = "Zq"  # every hostile text carries it, so it can be looked for in the SQL that ran

SQL_META = ["'; DROP TABLE referrers; --", "' OR '1'='1", "\"); DELETE FROM payouts; --", "$1", "?",
            "\\'; SELECT 1; --", "/* x */", "%s", "${run_id}", "'||(SELECT 1)||'"]
ODD_TEXT = ["a,b", "a\"b", "\"quoted\"", "line\nbreak", "cr\rlf", "tab\tsep", "semi;colon", "\u202eevil\u202c",
            "\u200f\u200bhidden", "Аnna Ivаnova", "раураl", "\u0000nul", "\x07bell\x1b[31m", "  padded  ", "\ufeffbom",
            "😀🏦", "=1+1", "-1", "@x"]
NUMBERS = ["1e308", "-1e308", "99999999999999999999999.99", "-0.00", "-250.00", "1,000.00", "NaN", "inf", "0x10",
           "12.345", "2147483648", "-2147483649", " 7 "]
DATES = ["0000-00-00", "9999-12-31", "-0001-01-01", "2026-02-30", "2026-13-01", "1970-01-01T00:00:00Z",
         "2026-03-01T25:00:00Z", "2026-03-01T09:15:00+14:00", "294247-01-10", "20260301", "yesterday"]

hostile_text = st.one_of(
    st.sampled_from(SQL_META + ODD_TEXT),
    st.text(min_size=1, max_size=40),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\u202e", "'"]), st.integers(1000, 20000)),
).map(lambda s: MARK + s)
hostile_value = st.one_of(hostile_text, st.sampled_from(NUMBERS + DATES + [""]))


@st.composite
def mutations(draw):
    """A list of (table, row index, column, value) edits and file-level changes."""
    edits = draw(st.lists(st.tuples(st.sampled_from(LOAD_ORDER), st.integers(0, 5), st.integers(0, 20),
                                    hostile_value), min_size=1, max_size=6))
    return {
        "edits": edits,
        "duplicate_row": draw(st.none() | st.sampled_from(LOAD_ORDER)),
        "column_change": draw(st.none() | st.tuples(st.sampled_from(LOAD_ORDER),
                                                     st.sampled_from(["duplicate", "drop", "extra"]))),
        "format": draw(st.sampled_from(["csv", "csv", "csv-bom", "latin-1", "utf-16", "parquet"])),
    }


def base_platform() -> Platform:
    p = Platform()
    p.job("J1", "C1")
    p.job("J2", "C2")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    p.referred_hire("2", "R2", "K2", "J2", started="2026-01-05", ended="2026-02-01")
    p.add("applications", application_id="A1", candidate_id="K1", job_id="J2")
    return p


def write_landing(folder: Path, p: Platform, m: dict) -> dict[str, list[list[str]]]:
    """Write the mutated landing folder; return the rows as written (header first) per table."""
    folder.mkdir(parents=True)
    written = {}
    for name in LOAD_ORDER:
        header = list(TABLES[name].column_names)
        rows = [["" if r.get(c) is None else str(r[c]) for c in header] for r in p.rows[name]]
        for table, i, col, value in m["edits"]:
            if table == name and rows:
                rows[i % len(rows)][col % len(header)] = value
        if m["duplicate_row"] == name and rows:
            rows.append(list(rows[0]))
        if m["column_change"] and m["column_change"][0] == name:
            change = m["column_change"][1]
            if change == "duplicate":
                header.append(header[1])
                rows = [r + [r[1]] for r in rows]
            elif change == "drop":
                header, rows = header[:-1], [r[:-1] for r in rows]
            else:
                header.append("surprise")
                rows = [r + ["x"] for r in rows]
        written[name] = [header, *rows]
        if m["format"] == "parquet":
            arrays = [pa.array([r[i] or None for r in rows], pa.string()) for i in range(len(header))]
            pq.write_table(pa.Table.from_arrays(arrays, names=header), folder / f"{name}.parquet")
            continue
        encoding = {"csv": "utf-8", "csv-bom": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}[m["format"]]
        with open(folder / f"{name}.csv", "w", newline="", encoding=encoding, errors="replace") as f:
            csv.writer(f).writerows([header, *rows])
    return written


class RecordingConnection:
    """A DuckDB connection that remembers every SQL text it was given (parameters are not SQL)."""

    def __init__(self, con):
        self._con = con
        self.statements: list[str] = []

    def execute(self, sql, *args, **kwargs):
        self.statements.append(sql)
        return self._con.execute(sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):
        self.statements.append(sql)
        return self._con.executemany(sql, *args, **kwargs)

    def sql(self, sql, *args, **kwargs):
        self.statements.append(sql)
        return self._con.sql(sql, *args, **kwargs)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(m=mutations())
def test_hostile_landing_files_are_loaded_or_rejected_never_crash_never_sql(tmp_path_factory, m):
    folder = tmp_path_factory.mktemp("hostile") / "landing"
    written = write_landing(folder, base_platform(), m)
    raw = duckdb.connect()
    raw.execute("SET TimeZone = 'UTC'")
    for schema in ("tables", "runs", "identity"):
        run_sql_file(raw, f"schema/{schema}.sql")
    con = RecordingConnection(raw)

    stats = ingest_landing(con, "run-1", folder)  # must not raise

    # every table is accounted for: rows in = loaded + rejected, each reject with a reason, or the
    # file as a whole is a problem (the report is then not clean and every due payout held)
    for name in LOAD_ORDER:
        s = stats[name]
        if s["problem"] is None or s["rows_in"]:
            assert s["rows_in"] == s["rows_loaded"] + s["rows_rejected"], (name, s)
        if s["problem"] is None:
            assert s["rows_in"] == len(written[name]) - 1 or m["format"] in ("latin-1", "utf-16"), (name, s)
    assert raw.execute("SELECT count(*) FROM rejects WHERE coalesce(reason, '') = ''").fetchone()[0] == 0
    rejected_lines = dict(raw.execute(
        "SELECT table_name, count(DISTINCT line) FROM rejects GROUP BY ALL").fetchall())
    for name in LOAD_ORDER:
        if stats[name]["problem"] is None:
            assert rejected_lines.get(name, 0) == stats[name]["rows_rejected"], name

    # no value reached the SQL text: values travel as parameters or inside the files DuckDB reads
    leaked = [s for s in con.statements if MARK in s]
    assert not leaked, leaked[0][:300]

    # free text that was loaded is stored as typed (trimmed), not escaped, cut or re-encoded
    if m["format"] in ("csv", "csv-bom", "parquet"):
        for table, i, col, value in m["edits"]:
            header = TABLES[table].column_names
            column = header[col % len(header)]
            if column not in ("name", "title") or not value.startswith(MARK):
                continue
            key = TABLES[table].key
            rows = written[table][1:]
            key_value = rows[i % len(rows)][header.index(key)]
            stored = raw.execute(f'SELECT "{column}" FROM "{table}" WHERE "{key}" = ?', [key_value]).fetchall()
            if stored and stored[0][0] is not None and len(rows) == len({r[0] for r in rows}):
                final = rows[i % len(rows)][header.index(column)]
                assert stored[0][0] == final.strip(" "), (table, column)

    # the tables are all still there, and hold only typed values
    for name in LOAD_ORDER:
        raw.execute(f'SELECT count(*) FROM "{name}"').fetchone()
    assert not re.search(MARK, " ".join(str(v) for (v,) in raw.execute(
        "SELECT eligible_at FROM payouts").fetchall()))
