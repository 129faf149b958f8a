"""Pull the platform's PostgreSQL tables into an increment landing folder.

The platform keeps the contract's tables in PostgreSQL under the contract's names. A pull reads the
rows changed since the last watermark (per table) and writes them as an ordinary landing folder
(`<table>.csv`, contract columns in contract order, RFC 4180, UTF-8, timestamps ISO-8601 UTC with Z,
dates YYYY-MM-DD, empty for NULL). The normal ingest then loads that folder: one upsert path for
files and database, with the same rejects, keys and "later updated_at wins" rule.

Watermark semantics (per table):
- change time of a row = updated_at where the table has one (contract.version_column), else its
  creation/event column (contract.event_column); where it has both, the later of the two
  (GREATEST ignores a NULL updated_at, so a never-updated row counts from its creation).
  companies has neither: it is pulled whole every time (it is small); its watermark stays None.
- a pull reads rows with  watermark - overlap <= change time < as_of + 1 day  (UTC).
  `>=`, not `>`: a row whose change time equals the watermark (another row committed with the same
  timestamp after the previous pull read) is not lost. The extra `overlap` (default 15 minutes)
  covers rows committed *after* a pull with a change time *before* its watermark: PostgreSQL's now()
  is the start of the writing transaction, so a long transaction can commit a timestamp older than
  rows already read. Re-pulling a row is harmless: the upsert by key is idempotent.
- the upper bound `< as_of + 1 day` makes a run reproducible: a later pull with the same as-of date
  sees no row changed after that day, and a correction dated after it waits for a later run.
- a row whose change time is NULL (payouts without updated_at, or a broken row without its event
  time) cannot be placed in time: it is pulled on every run, so it is never silently lost (a broken
  one is then rejected by ingest, with its line and column).
- the database holds only a row's newest version: a row changed after the as-of day is not pulled
  at all (not even an older version of it); it arrives with the first run whose as-of day covers
  its change. So a backtest against the live database cannot see such rows as they were.
- the new watermark of a table is the greatest change time pulled (never lower than the old one);
  with no rows pulled it stays where it was. It never passes as_of + 1 day.
- all tables are read in one REPEATABLE READ, READ ONLY transaction (one snapshot), parents before
  children (contract.LOAD_ORDER), so a child in the increment never points to a parent that the
  same snapshot did not have. A child whose parent did not change is fine: the parent is already
  in the DuckDB current state, where ingest's foreign-key check looks.

Watermarks are stored in DuckDB (table source_watermarks) by save_watermarks, which the ingest step
calls in the same transaction that loads the increment: a failed run does not advance them.

Nothing here logs a password or a row's content: sources are described with the password masked
(postgresql://postgres:***@host:5432/db) and logs carry table names and counts only.
"""
from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import duckdb

from bountyguard.contract import LOAD_ORDER, TABLES, Column, Table
from bountyguard.errors import BountyguardError

log = logging.getLogger(__name__)

DEFAULT_OVERLAP = dt.timedelta(minutes=15)
DEFAULT_ITERSIZE = 10_000
CONNECT_TIMEOUT_SECONDS = 10


class SourceError(BountyguardError):
    """The platform database cannot be reached or does not hold the contract's tables."""


@dataclass
class PullResult:
    source: str  # the source, password masked
    landing: Path
    as_of: dt.date
    tables: list[str]  # the tables written to the landing folder, in load order
    rows: dict[str, int]  # rows written per table
    new_watermarks: dict[str, str | None]  # ISO-8601 UTC ("...Z"); None: no watermark (pulled whole / nothing yet)
    skipped: list[str] = field(default_factory=list)  # optional tables the source does not have


# --- source description, masking -----------------------------------------------------------------

_URI_PASSWORD = re.compile(r"^(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:@/?#]*:)(?P<pw>[^@/?#]*)(?P<tail>@.*)$")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_uri(uri: str) -> str:
    """The URI (or key=value conninfo) with its password replaced by ***."""
    m = _URI_PASSWORD.match(uri)
    if m:
        uri = f"{m['head']}***{m['tail']}"
    uri = re.sub(r"([?&]password=)[^&]*", r"\1***", uri, flags=re.IGNORECASE)
    return _KV_PASSWORD.sub(r"\1***", uri)


def _conninfo(source_uri: str) -> dict:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(source_uri)
    except Exception:  # the message may quote the string, password included
        raise SourceError(f"--source {mask_uri(source_uri)}: not a PostgreSQL connection URI "
                          "(expected postgresql://user[:password]@host[:port]/database)") from None


def describe_source(source_uri: str) -> str:
    """postgresql://user:***@host:port/db: names the source without its password."""
    info = _conninfo(source_uri)
    user = info.get("user") or ""
    auth = f"{user}{':***' if info.get('password') else ''}@" if user or info.get("password") else ""
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{auth}{host}{port}/{info.get('dbname') or user or ''}"


def airflow_connection_uri(conn_id: str) -> str:
    """The source URI of an Airflow connection (conn_type postgres), for the DAG:
    pull_increment(airflow_connection_uri("platform_postgres"), ...)."""
    from airflow.sdk import Connection

    c = Connection.get(conn_id)
    auth = ""
    if c.login:
        auth = quote(c.login, safe="") + (":" + quote(c.password, safe="") if c.password else "") + "@"
    host = c.host or "localhost"
    port = f":{c.port}" if c.port else ""
    extra = c.extra_dejson or {}
    params = [f"{k}={quote(str(extra[k]), safe='')}" for k in
              ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")
              if k in extra]
    query = "?" + "&".join(params) if params else ""
    return f"postgresql://{auth}{host}{port}/{quote(c.schema or '', safe='')}{query}"


def _connect(source_uri: str):
    import psycopg

    info = _conninfo(source_uri)
    desc = describe_source(source_uri)
    host = info.get("host") or info.get("hostaddr") or "localhost"
    where = f"host {host}, database {info.get('dbname') or info.get('user') or '?'}"
    kwargs = {} if "connect_timeout" in info else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    try:
        conn = psycopg.connect(source_uri, application_name="bountyguard", **kwargs)
    except psycopg.Error as exc:
        reason = _first_line(exc)
        if info.get("password"):
            reason = reason.replace(info["password"], "***")
        raise SourceError(f"cannot connect to the platform database {desc} ({where}): {reason}") from None
    return conn, desc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- the pull ----------------------------------------------------------------------------------------

def _qi(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _text_expr(col: Column) -> str:
    """The column as the landing folder's text, formatted by the server (no per-value Python parsing)."""
    c = _qi(col.name)
    if col.type == "TIMESTAMP":
        # UTC with microseconds; ".000000" is dropped while writing. Works for timestamptz and for a
        # timestamp without zone (read as UTC: the session's zone is UTC).
        return f"""to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if col.type == "DATE":
        return f"to_char({c}, 'YYYY-MM-DD')"
    if col.type == "VARCHAR":
        return f"{c}::text"
    return f"{c}::text"  # numeric(12,2), integer


def change_expr(table: Table) -> str | None:
    """SQL for a row's change time, or None for a table that is pulled whole."""
    cols = [c for c in (table.version_column, table.event_column) if c]
    if not cols:
        return None
    if len(cols) == 1:
        return _qi(cols[0])
    return f"GREATEST({', '.join(_qi(c) for c in cols)})"


def _parse_watermark(table: str, value: str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        ts = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise SourceError(f"watermark of {table}: {value!r} is not an ISO-8601 timestamp") from None
    return ts.replace(tzinfo=dt.timezone.utc) if ts.tzinfo is None else ts.astimezone(dt.timezone.utc)


def format_ts(ts: dt.datetime) -> str:
    ts = ts.astimezone(dt.timezone.utc) if ts.tzinfo else ts
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if ts.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def _source_columns(conn) -> dict[str, set[str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ANY(%s)", [list(TABLES)]
    ).fetchall()
    out: dict[str, set[str]] = {}
    for t, c in rows:
        out.setdefault(t, set()).add(c)
    return out


def pull_increment(
    source_uri: str,
    landing_out: Path,
    watermarks: dict[str, str | None],
    as_of: dt.date,
    *,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    itersize: int = DEFAULT_ITERSIZE,
) -> PullResult:
    """Write the rows changed since `watermarks` (up to the end of the as-of day) to `landing_out`
    as a landing folder. Watermarks missing or None: the table is pulled from the beginning."""
    import psycopg

    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
    since = {t: _parse_watermark(t, (watermarks or {}).get(t)) for t in LOAD_ORDER}
    landing_out = Path(landing_out)
    landing_out.mkdir(parents=True, exist_ok=True)

    conn, desc = _connect(source_uri)
    written: list[Path] = []
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            conn.execute("SET LOCAL TimeZone = 'UTC'")
            have = _source_columns(conn)
            skipped = []
            for name in LOAD_ORDER:
                table = TABLES[name]
                if name not in have:
                    if table.optional:
                        skipped.append(name)
                        continue
                    raise SourceError(f"platform database {desc}: table {name!r} is missing "
                                      f"(the contract requires it)")
                missing = [c for c in table.column_names if c not in have[name]]
                if missing:
                    raise SourceError(f"platform database {desc}: table {name!r} lacks column(s) "
                                      f"{', '.join(missing)}")
            rows: dict[str, int] = {}
            new_wm: dict[str, str | None] = {}
            for name in LOAD_ORDER:
                if name in skipped:
                    continue
                table = TABLES[name]
                part = landing_out / f"{name}.csv.part"
                written.append(part)
                try:
                    n, newest = _pull_table(conn, table, part, since[name], until, overlap, itersize)
                except psycopg.Error as exc:
                    raise SourceError(f"platform database {desc}: reading table {name!r} failed: "
                                      f"{_first_line(exc)}") from None
                rows[name] = n
                old = since[name]
                best = max((t for t in (old, newest) if t is not None), default=None)
                new_wm[name] = format_ts(best) if best is not None else None
                log.info("pulled %s: %d rows (watermark %s -> %s)", name, n,
                         format_ts(old) if old else "none", new_wm[name] or "none")
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    # every table read: only now does the folder get its files (a failed pull leaves no half folder)
    for p in written:
        p.replace(p.with_suffix(""))
    for name in skipped:
        (landing_out / f"{name}.csv").unlink(missing_ok=True)  # a stale file must not be loaded again
    tables = [n for n in LOAD_ORDER if n not in skipped]
    return PullResult(source=desc, landing=landing_out, as_of=as_of, tables=tables, rows=rows,
                      new_watermarks=new_wm, skipped=skipped)


def _pull_table(conn, table: Table, path: Path, since: dt.datetime | None, until: dt.datetime,
                overlap: dt.timedelta, itersize: int) -> tuple[int, dt.datetime | None]:
    """Stream one table through a server-side cursor into `path`; return (rows, newest change time)."""
    select = ", ".join(_text_expr(c) for c in table.columns)
    change = change_expr(table)
    params: dict = {}
    if change is None:
        sql = f"SELECT {select}, NULL::timestamptz FROM {_qi(table.name)}"
    else:
        # a NULL change time cannot be placed in time: pulled every run (see the module's docstring)
        cond = [f"{change} < %(until)s"]
        params["until"] = until
        if since is not None:
            cond.append(f"{change} >= %(since)s")
            params["since"] = since - overlap
        sql = (f"SELECT {select}, {change} FROM {_qi(table.name)} "
               f"WHERE ({' AND '.join(cond)}) OR {change} IS NULL")
    ts_idx = [i for i, c in enumerate(table.columns) if c.type == "TIMESTAMP"]
    n, newest = 0, None
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(table.column_names)
        with conn.cursor(name=f"bg_pull_{table.name}") as cur:
            cur.itersize = itersize
            cur.execute(sql, params)
            for row in cur:
                values = list(row[:-1])
                for i in ts_idx:
                    if values[i] is not None and values[i].endswith(".000000Z"):
                        values[i] = values[i][:-8] + "Z"
                writer.writerow(values)
                changed = row[-1]
                if changed is not None and (newest is None or changed > newest):
                    newest = changed
                n += 1
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.timezone.utc)
    return n, newest


# --- watermarks in DuckDB -----------------------------------------------------------------------

_WATERMARK_DDL = """
CREATE TABLE IF NOT EXISTS source_watermarks (
    source VARCHAR NOT NULL,       -- source_key(): postgresql://user@host:port/db, no password
    table_name VARCHAR NOT NULL,
    watermark TIMESTAMP,           -- UTC; NULL: pulled whole / nothing pulled yet
    run_id VARCHAR NOT NULL,       -- the run whose ingest advanced it
    PRIMARY KEY (source, table_name)
)
"""


def _ensure_watermark_table(con: duckdb.DuckDBPyConnection) -> None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'source_watermarks' "
        "AND database_name = current_database() AND schema_name = current_schema()"
    ).fetchone()[0]
    if not exists:
        con.execute(_WATERMARK_DDL)


def read_watermarks(con: duckdb.DuckDBPyConnection, source: str | None = None) -> dict[str, str | None]:
    """The current watermark of every contract table (None: pull from the beginning). With `source`
    (a URI or its masked description: see source_key), only that source's; otherwise, per table, the
    one saved by the latest run of any source."""
    _ensure_watermark_table(con)
    out: dict[str, str | None] = dict.fromkeys(LOAD_ORDER)
    if source is None:
        # several sources: the one saved by the latest run wins (a run id sorts by its as-of date)
        rows = con.execute(
            "SELECT table_name, watermark FROM source_watermarks "
            "QUALIFY row_number() OVER (PARTITION BY table_name ORDER BY run_id DESC, watermark DESC NULLS LAST) = 1"
        ).fetchall()
    else:
        rows = con.execute("SELECT table_name, watermark FROM source_watermarks WHERE source = ?",
                           [source_key(source)]).fetchall()
    for table, wm in rows:
        if table in out:
            out[table] = format_ts(wm) if wm is not None else None
    return out


def source_key(source: str) -> str:
    """The name watermarks are kept under: postgresql://user@host:port/db, with or without a password
    in the URI (a masked description names the same source)."""
    try:
        info = _conninfo(source)
    except SourceError:
        return mask_uri(source)
    host = info.get("host") or info.get("hostaddr") or "localhost"
    user = info.get("user") or ""
    return f"postgresql://{user + '@' if user else ''}{host}:{info.get('port') or 5432}/{info.get('dbname') or user}"


def save_watermarks(con: duckdb.DuckDBPyConnection, run_id: str, source: str, watermarks: dict) -> None:
    """Record the watermarks a loaded increment reached. No BEGIN/COMMIT here: the ingest step calls
    it inside the transaction that loads the increment, so a failed run does not advance them.
    A watermark never moves back (a backtest with an earlier as-of date pulls nothing new); to pull
    a table again from the beginning, delete its row."""
    _ensure_watermark_table(con)
    source = source_key(source)
    for table, value in (watermarks or {}).items():
        if table not in TABLES:
            raise BountyguardError(f"save_watermarks: {table!r} is not a contract table")
        ts = _parse_watermark(table, value)
        naive = ts.astimezone(dt.timezone.utc).replace(tzinfo=None) if ts is not None else None
        con.execute(
            """
            INSERT INTO source_watermarks AS w (source, table_name, watermark, run_id) VALUES (?, ?, ?, ?)
            ON CONFLICT (source, table_name) DO UPDATE SET
                watermark = CASE WHEN w.watermark IS NULL OR excluded.watermark >= w.watermark
                                 THEN excluded.watermark ELSE w.watermark END,
                run_id = excluded.run_id
            """,
            [source, table, naive, run_id],
        )
