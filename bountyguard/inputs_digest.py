"""The report's inputs digest (inputs_sha256), kept up to date as rows are written instead of read
from every row at every publish.

Per platform table the digest is a row count and the XOR of one MD5 per row of its contract columns
(sql/features/inputs_digest.sql): XOR takes a row out as it puts one in, so a write changes the
digest by the rows it touched, before and after. The two writers of the platform tables do that
(`changing`): ingest's upsert and the erasure of forgotten records. At ten million referrals reading
every row took 7.9 s of each publish.

Fail closed, towards the full digest: the kept digest is used only under the fingerprint it was made
with (the SQL, the row expressions, the engine), and every FULL_EVERY publishes the digest is read
from every row again; a kept digest that differs from it means a table was written outside the
pipeline, which is logged as an error, and the full digest is the one the report names.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

import duckdb

from bountyguard import models
from bountyguard.contract import TABLES
from bountyguard.db import sql_text, state_fingerprint

log = logging.getLogger(__name__)

# publishes from the kept digest between two that read every row
FULL_EVERY = 7


def _row_digest(table: str) -> str:
    """One row's digest, as sql/features/inputs_digest.sql computes it (tests/test_inputs_digest.py
    holds the two together)."""
    return f"md5_number(CAST(({', '.join(TABLES[table].column_names)}) AS VARCHAR))"


def _fingerprint() -> str:
    return state_fingerprint({"sql": sql_text("features/inputs_digest.sql"), "duckdb": duckdb.__version__,
                              "rows": {name: _row_digest(name) for name in sorted(TABLES)}})


def _kept(con: duckdb.DuckDBPyConnection) -> tuple[bool, int]:
    """Whether a kept digest under this fingerprint exists, and how many publishes read it since the
    last full read."""
    rows = con.execute("SELECT fingerprint, publishes_since_full FROM inputs_digest_meta").fetchall()
    if len(rows) == 1 and rows[0][0] == _fingerprint():
        return True, rows[0][1]
    return False, 0


@contextmanager
def changing(con: duckdb.DuckDBPyConnection, table: str, where: str):
    """Around a write to `table` that touches only rows matching `where` (before and after it): the
    kept digest moves by those rows. Without a kept digest, nothing to do (the next publish reads
    every row). Call it inside the writer's transaction."""
    if not _kept(con)[0]:
        yield
        return
    rows = (f"SELECT count(*) AS n, coalesce(bit_xor({_row_digest(table)}), 0)::UHUGEINT AS d "
            f"FROM {table} WHERE {where}")
    before = f"inputs_digest_before_{table}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {before} AS {rows}")
    yield
    con.execute(f"""
        UPDATE inputs_digest_state s
        SET row_count = s.row_count - b.n + a.n, digest = xor(xor(s.digest, b.d), a.d)
        FROM {before} b, ({rows}) a
        WHERE s.table_name = ?""", [table])
    con.execute(f"DROP TABLE {before}")


def _held(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT table_name, row_count, digest::VARCHAR FROM inputs_digest_state ORDER BY table_name").fetchall()]


def current(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, str]]:
    """(table_name, row_count, digest) per platform table, as sql/features/inputs_digest.sql gives
    them: from the kept digest, or read from every row (no kept digest, another fingerprint, or
    every FULL_EVERY publishes) and kept."""
    kept, since_full = _kept(con)
    if kept and since_full < FULL_EVERY - 1:
        con.execute("UPDATE inputs_digest_meta SET publishes_since_full = publishes_since_full + 1")
        return _held(con)
    full = [tuple(r) for r in con.execute(models.query("inputs_digest")[0]).fetchall()]
    if kept:
        held = _held(con)
        if held != full:
            differing = sorted({t for t, *_ in set(held) ^ set(full)})
            log.error("inputs digest: the kept digest of %s differs from every row's (a table was written "
                      "outside bountyguard's ingest or forget?); the report names every row's",
                      ", ".join(differing))
    con.execute("DELETE FROM inputs_digest_state")
    con.executemany("INSERT INTO inputs_digest_state VALUES (?, ?, ?::UHUGEINT)", [list(r) for r in full])
    con.execute("DELETE FROM inputs_digest_meta")
    con.execute("INSERT INTO inputs_digest_meta VALUES (?, 0)", [_fingerprint()])
    return full
