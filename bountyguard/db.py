"""The one place that opens the DuckDB file and runs the project's SQL files."""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import duckdb

from bountyguard.errors import ConfigError, DatabaseBusyError, DatabaseUnreadableError

# An installed wheel carries the SQL as package data (bountyguard/sql); a checkout has it at the top level.
_PACKAGE_DIR = Path(__file__).resolve().parent
SQL_DIR = _PACKAGE_DIR / "sql" if (_PACKAGE_DIR / "sql" / "schema").is_dir() else _PACKAGE_DIR.parent / "sql"


def connect(db_path: str | Path, *, read_only: bool = False, wait_seconds: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file. One process writes it at a time: if another holds the lock, wait a
    little (a retried Airflow task may overlap its predecessor's exit), then fail with a clear error."""
    db_path = Path(db_path)
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(db_path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise DatabaseUnreadableError(
                    f"{db_path}: cannot open the DuckDB file ({str(exc).strip().splitlines()[0]}); it is never "
                    "recreated empty: restore it from a backup, or move it away to start a new history"
                ) from None
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"{db_path}: another process holds this DuckDB file (a screening run?); try again when it ends"
                ) from None
            time.sleep(0.5)
    # Timestamps are UTC throughout; naive values are read as UTC, never as the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    _apply_resource_limits(con)
    return con


# What this machine gives the screening run, set by whoever deploys it (like Airflow's own variables):
# no part of the run's configuration or its digest, since decisions never depend on them. DuckDB
# otherwise takes up to 80% of the machine's memory and spills next to the database file.
RESOURCE_VARIABLES = {
    "BOUNTYGUARD_DUCKDB_MEMORY_LIMIT": "memory_limit",  # e.g. 6GB: above it DuckDB spills to disk
    "BOUNTYGUARD_DUCKDB_TEMP_DIRECTORY": "temp_directory",  # where it spills (a fast disk with room)
    # at most this much spill, then the query fails (and the run with it, holding every payout)
    # instead of filling the disk that the DuckDB file, the published reports and the ledger share
    "BOUNTYGUARD_DUCKDB_MAX_TEMP_SIZE": "max_temp_directory_size",
    "BOUNTYGUARD_DUCKDB_THREADS": "threads",  # cores it may use (default: all)
}


def _apply_resource_limits(con: duckdb.DuckDBPyConnection) -> None:
    for variable, setting in RESOURCE_VARIABLES.items():
        value = os.environ.get(variable, "").strip()
        if not value:
            continue
        try:
            con.execute(f"SET {setting} = ?", [value])
        except (duckdb.Error, ValueError) as exc:
            con.close()
            raise ConfigError(f"{variable}={value!r}: not a valid DuckDB {setting} "
                              f"({str(exc).strip().splitlines()[0]})") from None


DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def require_database_file(db_path: str | Path) -> None:
    """Refuse a DuckDB file that is missing or is not a DuckDB database, without opening it (a
    screening run may hold its lock). The payout job checks this before paying: the published report
    it pays from belongs to that file's history, and a lost or corrupted file is an incident."""
    db_path = Path(db_path)
    try:
        with open(db_path, "rb") as f:
            header = f.read(12)
    except OSError as exc:
        raise DatabaseUnreadableError(
            f"{db_path}: the DuckDB file cannot be read ({exc.strerror}): NOTHING IS PAID; restore it from a backup"
        ) from None
    if header[8:12] != DUCKDB_MAGIC:
        raise DatabaseUnreadableError(
            f"{db_path}: not a DuckDB database file (damaged or replaced): NOTHING IS PAID; restore it from a backup"
        )


def state_fingerprint(spec: dict) -> str:
    """The fingerprint of what kept state was built with (SQL, settings, versions): state stored under
    another one is rebuilt, never reused. One way for every kept table, so equal specs hash equally."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def sql_text(relative: str) -> str:
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def run_sql_file(con: duckdb.DuckDBPyConnection, relative: str, params: dict | None = None) -> None:
    """Run every statement of a file under sql/ to its end (named $parameters come from `params`;
    in DuckDB 2.0 an unread result would block the connection)."""
    for statement in _split_statements(sql_text(relative)):
        used = {k: v for k, v in (params or {}).items() if f"${k}" in statement}
        con.execute(statement, used or None).complete()


def _split_statements(text: str) -> list[str]:
    """Split on semicolons outside quotes and comments (our SQL files hold no procedural blocks)."""
    out, buf, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            buf.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = len(text) if end == -1 else end
            i = end
            continue
        elif ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return [s for s in out if s.strip()]


def register_function(con: duckdb.DuckDBPyConnection, name: str, function: Callable[..., Any],
                      arity: int = 1) -> None:
    """Register a Python function of `arity` text arguments returning text (a normaliser, a keyed
    hash) as the DuckDB function `name` on this connection, replacing an earlier registration.

    It runs as an Arrow UDF: DuckDB hands over vectors of ~2k values at a time. NULLs reach the
    function (it decides what they give), and it must be deterministic (DuckDB may cache results)."""
    import pyarrow as pa
    from duckdb.sqltypes import VARCHAR

    def apply(*arrays: pa.Array) -> pa.Array:
        columns = [array.to_pylist() for array in arrays]
        return pa.array([function(*values) for values in zip(*columns)], type=pa.string())

    # DuckDB checks the Python signature against the declared parameters: one wrapper per arity
    wrappers = {1: lambda values: apply(values), 2: lambda values, others: apply(values, others)}
    if arity not in wrappers:
        raise ValueError(f"no wrapper for {arity} arguments")
    try:
        con.remove_function(name)
    except Exception:  # not registered yet on this connection
        pass
    con.create_function(name, wrappers[arity], [VARCHAR] * arity, VARCHAR, type="arrow",
                        null_handling="special", side_effects=False)
