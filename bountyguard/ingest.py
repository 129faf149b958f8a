"""Landing folder -> typed current-state tables, with every input row accounted for.

Each table file is read as text first, so that a bad value becomes a reject with its file, line and
column instead of an error that stops the load. Each row then either enters the current state
(upserted by primary key, a later updated_at winning) or lands in `rejects` with the reason:
rows in = loaded + rejected, per table and run. A file that cannot be read as its table at all
(missing, unreadable, a contract column absent or a column the contract does not have) is recorded as a
problem of the run; the report is then not clean. A row naming a record that does not exist is loaded
and quarantined by validation, not rejected (CONTRACT.md, "Bad data").
"""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from bountyguard import inputs_digest
from bountyguard.contract import LOAD_ORDER, TABLES, Column, Table
from bountyguard.faults import checkpoint

log = logging.getLogger(__name__)

_TYPE_PROBLEM = {
    "DATE": "not a date (expected YYYY-MM-DD)",
    "TIMESTAMP": "not a timestamp (expected ISO-8601 UTC, e.g. 2026-03-01T09:15:00Z)",
    "INTEGER": "not a whole number",
    "DECIMAL(12,2)": "not a decimal number",
}


def landing_file(landing: Path, table: str) -> Path | None:
    for suffix in (".csv", ".parquet"):
        path = landing / f"{table}{suffix}"
        if path.exists():
            return path
    return None


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed_expr(column: Column, raw: str) -> str:
    if column.type == "VARCHAR":
        return raw
    if column.type == "TIMESTAMP":
        # an explicit offset is honoured and converted to UTC; a value without one is UTC already
        return f"timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ))"
    if column.type == "DATE":
        return f"TRY_CAST({raw} AS DATE)"
    return f"TRY_CAST({raw} AS {column.type})"


def _read_raw(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[dict], str | None]:
    """Create TEMP table raw_rows(_ordinal, <file columns as text>); return structural rejects
    (lines the CSV reader could not split into the header's columns) and a problem, if any."""
    con.execute("DROP TABLE IF EXISTS raw_rows")
    if path.stat().st_size == 0:
        return [], f"{path}: the file is empty (expected a header row with the contract's columns)"
    if path.suffix == ".parquet":
        try:
            con.execute(
                "CREATE TEMP TABLE raw_rows AS SELECT row_number() OVER () AS _ordinal, COLUMNS(*)::VARCHAR "
                "FROM read_parquet(?)",
                [str(path)],
            )
        except duckdb.Error as exc:
            return [], f"{path}: cannot be read as Parquet ({_first_line(exc)})"
        return [], None
    con.execute("DROP TABLE IF EXISTS bg_csv_rejects")
    con.execute("DROP TABLE IF EXISTS bg_csv_scans")
    try:
        con.execute(
            "CREATE TEMP TABLE raw_rows AS SELECT row_number() OVER () AS _ordinal, * FROM read_csv(?, "
            "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
            "strict_mode = true, encoding = 'utf-8', store_rejects = true, "
            "rejects_table = 'bg_csv_rejects', rejects_scan = 'bg_csv_scans', sample_size = -1)",
            [str(path)],
        )
    except duckdb.Error as exc:
        return [], f"{path}: cannot be read as CSV ({_first_line(exc)})"
    rejects = con.execute(
        "SELECT line, any_value(column_name), string_agg(DISTINCT error_type, ', ') "
        "FROM bg_csv_rejects GROUP BY line ORDER BY line"
    ).fetchall()
    structural = [
        {"line": int(line), "column_name": col, "reason": _csv_reason(kind)} for line, col, kind in rejects
    ]
    return structural, None


def _csv_reason(kind: str) -> str:
    return {
        "TOO MANY COLUMNS": "too many fields for the header (wrong delimiter or unquoted comma?)",
        "MISSING COLUMNS": "too few fields for the header (truncated line?)",
        "INVALID ENCODING": "not UTF-8 text (the file must be UTF-8)",
        "UNQUOTED VALUE": "bad quoting (RFC 4180: quote fields with commas, quotes or line breaks)",
        "LINE SIZE OVER MAXIMUM": "line too long",
    }.get(kind, kind.lower())


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def ingest_landing(con: duckdb.DuckDBPyConnection, run_id: str, landing: Path) -> dict:
    """Load every contract table of `landing` into the current state; return per-table stats."""
    stats = {}
    for name in LOAD_ORDER:
        stats[name] = _ingest_table(con, run_id, landing, TABLES[name])
        con.execute(
            "INSERT OR REPLACE INTO load_stats VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, name, stats[name]["file"], stats[name]["rows_in"], stats[name]["rows_loaded"],
             stats[name]["rows_rejected"], stats[name]["problem"]],
        )
        log.info("loaded %s: %s in, %s loaded, %s rejected%s", name, stats[name]["rows_in"],
                 stats[name]["rows_loaded"], stats[name]["rows_rejected"],
                 " (file problem)" if stats[name]["problem"] else "")
        checkpoint(f"ingest.loaded.{name}")
    return stats


def _ingest_table(con, run_id: str, landing: Path, table: Table) -> dict:
    result = {"file": None, "rows_in": 0, "rows_loaded": 0, "rows_rejected": 0, "problem": None}
    path = landing_file(landing, table.name)
    if path is None:
        if not table.optional:
            result["problem"] = (
                f"{landing / (table.name + '.csv')}: missing: the contract requires the table {table.name!r} "
                f"(as {table.name}.csv or {table.name}.parquet)"
            )
        return result
    result["file"] = str(path)
    structural, problem = _read_raw(con, path)
    if problem:
        result["problem"] = problem
        return result
    header = [r[0] for r in con.execute("DESCRIBE raw_rows").fetchall()][1:]
    missing = [c for c in table.column_names if c not in header]
    extra = [c for c in header if c not in table.column_names]
    rows_in = con.execute("SELECT count(*) FROM raw_rows").fetchone()[0] + len(structural)
    result["rows_in"] = rows_in
    if missing:
        result["problem"] = (
            f"{path}: line 1 (header): missing column(s) {', '.join(missing)}; the header has "
            f"{', '.join(header) if len(header) < 20 else str(len(header)) + ' columns'}"
        )
        result["rows_rejected"] = rows_in
        con.execute(
            "INSERT INTO rejects VALUES (?, ?, ?, 1, NULL, ?, ?, NULL)",
            [run_id, table.name, str(path), missing[0], "header is missing this column: no row of the file can be loaded"],
        )
        return result
    if extra:
        # loaded all the same, but a file whose columns differ from the contract is not the export the
        # platform agreed to send (a renamed column, a changed export): the data as a whole is in doubt
        result["problem"] = (f"{path}: line 1 (header): column(s) {', '.join(extra[:5])} are not in the contract's "
                             f"{table.name} table")
    _stage(con, run_id, path, table, structural)
    rejected = con.execute(
        "SELECT count(DISTINCT line) FROM rejects WHERE run_id = ? AND table_name = ? AND source_file = ?",
        [run_id, table.name, str(path)],
    ).fetchone()[0]
    result["rows_rejected"] = rejected
    result["rows_loaded"] = rows_in - rejected
    _upsert(con, table)
    return result


def _stage(con, run_id: str, path: Path, table: Table, structural: list[dict]) -> None:
    """Build TEMP table staged(<typed contract columns>, _line, _problems) and record rejects."""
    if structural:
        con.execute("DROP TABLE IF EXISTS structural_rejects")
        con.execute("CREATE TEMP TABLE structural_rejects(line BIGINT, idx BIGINT)")
        con.executemany(
            "INSERT INTO structural_rejects VALUES (?, ?)", [[r["line"], i] for i, r in enumerate(structural, 1)]
        )
        # a good record's line: its ordinal, plus the header, plus the bad records before it
        line_expr = (
            "_ordinal + 1 + (SELECT count(*) FROM structural_rejects s WHERE s.line - 1 - s.idx < r._ordinal)"
        )
        con.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, NULL, ?, ?, NULL)",
            [[run_id, table.name, str(path), r["line"], r["column_name"], r["reason"]] for r in structural],
        )
    else:
        line_expr = "_ordinal + 1"

    typed_cols, checks = [], []
    for col in table.columns:
        raw = f"NULLIF(trim(r.{_q(col.name)}), '')"
        typed = _typed_expr(col, raw)
        typed_cols.append(f"{typed} AS {_q(col.name)}")
        value = "NULL::VARCHAR" if col.personal else f"left({raw}, 200)"
        if not col.nullable:
            checks.append(
                f"CASE WHEN {raw} IS NULL THEN {{'column_name': {_lit(col.name)}, "
                f"'reason': 'missing required value', 'value': NULL::VARCHAR}} END"
            )
        if col.type != "VARCHAR":
            checks.append(
                f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {{'column_name': {_lit(col.name)}, "
                f"'reason': {_lit(_TYPE_PROBLEM[col.type])}, 'value': {value}}} END"
            )
        if col.name == table.key or col.references:
            # exports name records by these ids, and analysts open exports in spreadsheets: an id that
            # a spreadsheet would run as a formula is refused here rather than altered in every export
            checks.append(
                f"CASE WHEN left({raw}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN {{'column_name': "
                f"{_lit(col.name)}, 'reason': 'an id must not begin with = + - @ tab or carriage return "
                f"(a spreadsheet would run it as a formula)', 'value': {value}}} END"
            )
        if col.enum:
            allowed = ", ".join(_lit(v) for v in col.enum)
            checks.append(
                f"CASE WHEN {raw} IS NOT NULL AND {raw} NOT IN ({allowed}) THEN {{'column_name': {_lit(col.name)}, "
                f"'reason': {_lit('unknown value (expected one of: ' + ', '.join(col.enum) + ')')}, 'value': {value}}} END"
            )
    con.execute("DROP TABLE IF EXISTS staged")
    con.execute(
        f"CREATE TEMP TABLE staged AS SELECT {', '.join(typed_cols)}, {line_expr} AS _line, "
        f"list_filter([{', '.join(checks)}], lambda p: p IS NOT NULL) AS _problems FROM raw_rows r"
    )
    key = _q(table.key)
    # Duplicate keys in one file: versions with distinct updated_at are history (the latest wins);
    # copies that cannot be ordered are ambiguous, so every copy is rejected rather than guessed.
    version = _q(table.version_column) if table.version_column else "NULL"
    con.execute(
        f"""
        UPDATE staged SET _problems = list_append(_problems, {{'column_name': {_lit(table.key)},
            'reason': 'duplicate key: another row in this file has the same ' || {_lit(table.key)}
                      || CASE WHEN {version} IS NULL THEN '' ELSE ' and the same updated_at' END,
            'value': {key}}})
        WHERE {key} IS NOT NULL AND ({key}, coalesce(CAST({version} AS VARCHAR), '')) IN (
            SELECT ({key}, coalesce(CAST({version} AS VARCHAR), '')) FROM staged
            WHERE {key} IS NOT NULL GROUP BY ALL HAVING count(*) > 1)
        """
    )
    # A row naming a record that does not exist is read fine: it is loaded and quarantined by the
    # gate (sql/validation/quarantine.sql), holding only its own payouts, not rejected here.
    con.execute(
        f"""
        INSERT INTO rejects
        SELECT ?, ?, ?, _line, {key}, p.column_name, p.reason, p.value
        FROM (SELECT _line, {key}, unnest(_problems) AS p FROM staged WHERE len(_problems) > 0)
        """,
        [run_id, table.name, str(path)],
    )
    con.execute("DELETE FROM staged WHERE len(_problems) > 0")
    con.execute("UPDATE staged SET _problems = NULL")
    con.execute("CREATE OR REPLACE TEMP TABLE staged_meta AS SELECT ?::VARCHAR AS run_id, ?::VARCHAR AS source_file",
                [run_id, str(path)])


def _upsert(con, table: Table) -> None:
    """Upsert the staged rows: a key's later version (by updated_at) wins, in any load order."""
    key = _q(table.key)
    cols = ", ".join(_q(c) for c in table.column_names)
    src_cols = ", ".join(f"s.{_q(c)}" for c in table.column_names)
    if table.version_column:
        v = _q(table.version_column)
        # the newest version within the file, then only if it is not older than what we hold
        newest = f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {v} DESC NULLS LAST) = 1"
        wins = f"(t.{key} IS NULL OR t.{v} IS NULL OR (s.{v} IS NOT NULL AND s.{v} >= t.{v}))"
    else:
        newest = ""
        wins = "TRUE"
    # the rows of the staged keys are the only ones the upsert can change (inputs_digest.py)
    with inputs_digest.changing(con, table.name, f"{key} IN (SELECT {key} FROM staged)"):
        con.execute(
            f"""
            INSERT OR REPLACE INTO {_q(table.name)} ({cols}, _loaded_run_id, _source_file, _source_line)
            SELECT {src_cols}, m.run_id, m.source_file, s._line
            FROM (SELECT * FROM staged {newest}) s
            CROSS JOIN staged_meta m
            LEFT JOIN {_q(table.name)} t ON t.{key} = s.{key}
            WHERE {wins}
            """
        )
