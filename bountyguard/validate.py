"""The data-quality gate, at the three levels of CONTRACT.md ("Bad data"). One bad row holds its own
payouts, never everyone's; abuse is data to screen, never bad data.

- **rejected** (ingest.py): a row that cannot be read or typed is not loaded; it is listed with file,
  line, column and reason, and the payouts it touches are held with `data_rejected`.
- **quarantined** (here): a row that reads fine but contradicts other data in a way no abuse pattern
  explains is loaded and listed in `quarantine`; the payouts it touches are held with
  `data_inconsistent`. The checks are sql/validation/quarantine.sql (joins, checksums) plus the
  single-row rules declared once in `ROW_RULES` (amounts, ranges, ISO codes, e-mail syntax), run as
  one SQL query over the current state, so a row stays quarantined until it is corrected. A daily
  run checks again only the rows whose inputs changed since the last check and those it quarantined
  (sql/incremental/quarantine_scope.sql: any other row finds what it found); the first run, one
  after a failed check, one after a table shrank, other checks, and every QUARANTINE_FULL_EVERY-th
  run check every row.
- **not clean**: the data as a whole cannot be trusted: a file missing or with other columns, a
  table's rejected or quarantined rows above the configured rate, a table with fewer rows than
  after the previous run, an increment far above the usual one. The report is `not_clean` and every
  due payout is held with `data_not_clean`.

Great Expectations holds every outcome: the row rules run as GX suites on each run's new rows
(pandas, up to `row_check_max_rows`; above that the same rules run as DuckDB SQL), and every number
(quarantine counts per check, reject and quarantine counts against what the rates allow, volumes)
lands in one metrics frame that the `bountyguard_gate` suite validates (allowed >= observed, nothing
missing). Counts of the quarantine checks are reported for the record (their allowed value is the
count itself); what decides `not_clean` is the per-table totals against the configured rates.

Personal data never reaches GX's results or Data Docs: the row suites run with SUMMARY results and
no unexpected values (`partial_unexpected_count` 0), and failure details name record keys, never
the values, of personal columns. Data Docs are written to `<db stem>.gx/` next to the DuckDB file;
the outcome that enters the report digest holds no paths, times or GX run ids.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pycountry

from bountyguard.contract import LOAD_ORDER, TABLES
from bountyguard import incremental, models
from bountyguard.db import run_sql_file, sql_text, state_fingerprint

log = logging.getLogger(__name__)

SUITE_NAME = "bountyguard_gate"
DOCS_INDEX_RESULTS = 9 * 30  # the Data Docs index lists the results of about the last 30 runs
DATASOURCE = "bountyguard"

ISO_4217 = tuple(sorted(c.alpha_3 for c in pycountry.currencies))
ISO_3166_ALPHA_2 = tuple(sorted(c.alpha_2 for c in pycountry.countries))
# Syntax only: one @, no spaces, a dot in the domain. Deliverability and aliases are identity
# resolution's business.
EMAIL_SYNTAX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
IBAN_SYNTAX = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"


def quarantine_checks() -> dict[str, str]:
    """The join and checksum checks, {check: table}, read from sql/validation/quarantine.sql (each
    branch starts with `SELECT '<check>' AS check_name, '<table>' AS table_name`), so no list in
    Python mirrors the SQL."""
    return dict(re.findall(r"SELECT\s+'([a-z0-9_]+)'\s+AS\s+check_name,\s*'([a-z_]+)'\s+AS\s+table_name",
                           models.models()["quarantine"].sql))


@dataclass(frozen=True)
class RowRule:
    """One rule every row of a table must meet, runnable as a GX expectation or as SQL."""

    table: str
    column: str  # a column of the frame; may be derived from a raw column (DERIVED)
    rule: str  # business name, part of the check name
    kind: str  # not_null | unique | in_set | between | regex
    says: str  # what a breaking row does, for messages: "is not an ISO 4217 code"
    values: tuple = ()
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False
    regex: str | None = None

    @property
    def check(self) -> str:
        return f"{self.column}_{self.rule}__{self.table}"

    @property
    def personal(self) -> bool:
        source = DERIVED.get((self.table, self.column), (self.column, None))[0]
        return TABLES[self.table].column(source).personal


# Frame columns computed from a raw column, as (raw column, SQL expression): IBANs are typed with
# spaces, dashes, dots and in any case; their syntax is checked on the compact upper-case form
# (macro iban_compact, sql/macros.sql).
DERIVED = {
    ("referrers", "payout_iban_compact"): ("payout_iban", "iban_compact(payout_iban)"),
}


def _row_rules() -> tuple[RowRule, ...]:
    rules = []
    for name in LOAD_ORDER:
        table = TABLES[name]
        rules.append(RowRule(name, table.key, "present", "not_null", "has no key"))
        rules.append(RowRule(name, table.key, "unique", "unique", "shares its key with another row"))
        # other required columns: the current-state tables' NOT NULL constraints already refuse a
        # missing value, so a GX check on them could never fail and would only cost time
        for col in table.columns:
            if col.enum:
                rules.append(RowRule(name, col.name, "known", "in_set", f"is not one of {', '.join(col.enum)}",
                                     values=col.enum))
    rules += [
        RowRule("jobs", "bounty_amount", "positive", "between", "is not above 0", min_value=0, strict_min=True),
        RowRule("payouts", "amount", "positive", "between", "is not above 0", min_value=0, strict_min=True),
        RowRule("jobs", "guarantee_days", "0_to_365", "between", "is outside 0 to 365", min_value=0, max_value=365),
        RowRule("jobs", "currency", "iso_4217", "in_set", "is not an ISO 4217 currency code", values=ISO_4217),
        RowRule("payouts", "currency", "iso_4217", "in_set", "is not an ISO 4217 currency code", values=ISO_4217),
        RowRule("companies", "country", "iso_3166", "in_set", "is not an ISO 3166-1 alpha-2 country code",
                values=ISO_3166_ALPHA_2),
        RowRule("referrers", "email", "syntax", "regex", "is not an e-mail address", regex=EMAIL_SYNTAX),
        RowRule("candidates", "email", "syntax", "regex", "is not an e-mail address", regex=EMAIL_SYNTAX),
        RowRule("referrers", "payout_iban_compact", "syntax", "regex",
                "is not an IBAN (2 letters, 2 digits, 11 to 30 letters or digits)", regex=IBAN_SYNTAX),
    ]
    return tuple(rules)


ROW_RULES = _row_rules()


def _value_rules() -> list[RowRule]:
    """The row rules a loaded row can still break: a missing or duplicate key never gets past ingest
    (nor does an unknown enum value), the rest is checked on the loaded state."""
    return [r for r in ROW_RULES if r.kind not in ("not_null", "unique") and r.column != TABLES[r.table].key]


def quarantine_sql() -> str:
    """One query listing every quarantined row of the current state: (check_name, table_name,
    record_key), from sql/validation/quarantine.sql plus one branch per value rule."""
    branches = [
        f"SELECT {_sql_literal(r.check)} AS check_name, {_sql_literal(r.table)} AS table_name, "
        f'"{TABLES[r.table].key}" AS record_key FROM "{r.table}" WHERE ({_violation_sql(r)}) '
        f'AND in_quarantine_scope({_sql_literal(r.table)}, "{TABLES[r.table].key}")'
        for r in _value_rules()
    ]
    return "\nUNION ALL\n".join([f"SELECT * FROM ({models.query('quarantine')[0]}\n)", *branches])


def _rules_of(table: str) -> list[RowRule]:
    return [r for r in ROW_RULES if r.table == table]


def _sql_literal(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _violation_sql(rule: RowRule) -> str:
    """A SQL predicate true for a row that breaks the rule (NULL counts as passing except for
    not_null, as in GX)."""
    c = DERIVED.get((rule.table, rule.column), (None, f'"{rule.column}"'))[1]
    if rule.kind == "not_null":
        return f"{c} IS NULL"
    if rule.kind == "in_set":
        return f"{c} NOT IN ({', '.join(_sql_literal(v) for v in rule.values)})"
    if rule.kind == "between":
        low = f"{c} <= {rule.min_value}" if rule.strict_min else f"{c} < {rule.min_value}"
        return low + (f" OR {c} > {rule.max_value}" if rule.max_value is not None else "")
    if rule.kind == "regex":
        return f"NOT regexp_matches({c}, {_sql_literal(rule.regex)})"
    raise ValueError(rule.kind)


def _frame_sql(table: str) -> str:
    """The increment's rows with the columns the table's rules read, in key order (deterministic)."""
    key = TABLES[table].key
    columns = dict.fromkeys([key, *(r.column for r in _rules_of(table))])
    exprs = [f"{DERIVED[(table, c)][1]} AS {c}" if (table, c) in DERIVED else f'"{c}"' for c in columns]
    return f'SELECT {", ".join(exprs)} FROM "{table}" WHERE _loaded_run_id = $run_id ORDER BY "{key}"'


class GateInput(list):
    """The metrics (a list of {check_name, table_name, observed, allowed, detail}) plus what the GX
    row suites need: this run's increments as frames, and where Data Docs go."""

    def __init__(self, metrics=(), *, run_id: str | None = None, as_of: dt.date | None = None,
                 increments: dict[str, pd.DataFrame] | None = None, docs_root: Path | None = None):
        super().__init__(metrics)
        self.run_id = run_id
        self.as_of = as_of
        self.increments = increments or {}
        self.docs_root = docs_root
        self.data_docs_page: Path | None = None  # set by run_gate when Data Docs were built


def validation_settings(config: dict) -> dict:
    """The [validation] section (bountyguard/default_config.toml documents each setting)."""
    return dict(config["validation"])


def docs_root_for(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.gx"


def data_docs_page(db_path: str | Path, run_id: str) -> Path | None:
    """The Data Docs page of a run's gate result (every check of the run), if it was built."""
    folder = docs_root_for(db_path) / "data_docs" / "validations" / SUITE_NAME / run_id
    pages = sorted(folder.glob("*/*.html"))
    return pages[-1] if pages else None


def _metric(check, table, observed, allowed, detail=None) -> dict:
    return {"check_name": check, "table_name": table, "observed": observed, "allowed": allowed, "detail": detail}


def _allowed_bad_rows(rate: float, rows: int, settings: dict) -> int:
    """How many bad rows a table may have before the data as a whole is in doubt."""
    return max(int(math.floor(rate * rows)), int(settings["tolerated_bad_rows"]))


def collect_metrics(con: duckdb.DuckDBPyConnection, run_id: str, config: dict,
                    docs_root: str | Path | None = None) -> GateInput:
    """Every SQL-side number of the gate, and this run's increments for the GX row suites.

    Also records this run's quarantined rows (`quarantine`) and current-state row counts
    (table_volumes, which the next run's shrink check compares with). `docs_root` defaults to
    `<db stem>.gx` beside the DuckDB file."""
    settings = validation_settings(config)
    run_sql_file(con, "macros.sql")  # the IBAN checks' macros, whether or not the caller entered a run
    metrics: list[dict] = []
    run_row = con.execute("SELECT as_of FROM runs WHERE run_id = ?", [run_id]).fetchone()
    as_of = run_row[0] if run_row else None

    max_reject_rate = float(config["ingest"]["max_reject_rate"])
    load_stats = {}
    for table, rows_in, rejected, problem in con.execute(
        "SELECT table_name, rows_in, rows_rejected, problem FROM load_stats WHERE run_id = ?", [run_id]
    ).fetchall():
        load_stats[table] = rows_in
        metrics.append(_metric(f"file_readable__{table}", table, 1 if problem else 0, 0, problem))
        allowed = _allowed_bad_rows(max_reject_rate, rows_in, settings)
        metrics.append(_metric(
            f"rejected_rows__{table}", table, rejected, allowed,
            (f"{rejected} of {rows_in} rows rejected (at most {allowed} allowed: max_reject_rate "
             f"{max_reject_rate:g}); their payouts are held with data_rejected") if rejected else None))

    metrics += _quarantine_metrics(con, run_id, settings)

    increments: dict[str, pd.DataFrame] = {}
    for table in LOAD_ORDER:
        metrics += _row_rule_metrics(con, run_id, table, settings, increments)

    metrics += _volume_metrics(con, run_id, load_stats, settings)

    if docs_root is None and settings["data_docs"]:
        db_path = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
        docs_root = docs_root_for(db_path) if db_path else None
    order = {t: i for i, t in enumerate(LOAD_ORDER)}
    metrics.sort(key=lambda m: (order.get(m["table_name"], 99), m["check_name"]))
    return GateInput(metrics, run_id=run_id, as_of=as_of, increments=increments,
                     docs_root=Path(docs_root) if docs_root and settings["data_docs"] else None)


# Incremental quarantine checks between two that check every row (as the feature tables' full builds).
QUARANTINE_FULL_EVERY = 7


def _quarantine_fingerprint() -> str:
    return state_fingerprint({"duckdb": duckdb.__version__, "checks": quarantine_sql(),
                              "macros": sql_text("macros.sql"),  # iban_is_valid and the like
                              "scope": sql_text("incremental/quarantine_scope.sql")})


def _quarantine_base(con, run_id: str) -> dict | None:
    """The run whose quarantine this run may build on (sql/incremental/quarantine_scope.sql), or None
    to check every row. Removes the state row: until `_record_quarantine` writes it again, the
    quarantine of this run is work in progress (a run that stops before then leaves the next one
    checking every row)."""
    rows = con.execute("SELECT run_id, fingerprint, loaded_runs, checks_since_full FROM quarantine_state").fetchall()
    con.execute("DELETE FROM quarantine_state")
    if len(rows) != 1:
        return None
    base_run, fingerprint, loaded_runs, since_full = rows[0]
    if fingerprint != _quarantine_fingerprint() or since_full >= QUARANTINE_FULL_EVERY or base_run == run_id:
        return None  # other checks, a full check due, or this run again (its rows were just deleted)
    # the scope rests on rows never being deleted: a table with fewer rows than after the base run
    # (damage; the volume check fails the run too) may have lost a parent that rows still name
    volumes = con.execute("SELECT table_name, rows_current FROM table_volumes WHERE run_id = ?", [base_run]).fetchall()
    if {t for t, _ in volumes} != set(LOAD_ORDER) or any(
            con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] < n for t, n in volumes):
        return None
    return {"base_run_id": base_run, "loaded_runs": list(loaded_runs), "checks_since_full": since_full}


def _record_quarantine(con, run_id: str) -> str:
    """This run's quarantined rows: every row checked, or on a base run's only the rows whose inputs
    changed since and those it quarantined. Returns which ("full" or "incremental")."""
    con.execute("DELETE FROM quarantine WHERE run_id = ?", [run_id])
    base = _quarantine_base(con, run_id)
    if base is not None:
        run_sql_file(con, "incremental/quarantine_scope.sql", base)
        con.execute("CREATE OR REPLACE TEMP MACRO in_quarantine_scope(scope_table, scope_key) AS "
                    "scope_key IN (SELECT record_key FROM quarantine_scope WHERE table_name = scope_table)")
    try:
        con.execute(f"INSERT INTO quarantine SELECT DISTINCT $run_id, table_name, record_key, check_name "
                    f"FROM ({quarantine_sql()})", {"run_id": run_id})
    finally:
        run_sql_file(con, "macros.sql")  # every row in scope again, as macros.sql defines it
        con.execute("DROP TABLE IF EXISTS quarantine_scope")
        con.execute("DROP TABLE IF EXISTS quarantine_loaded_runs")
    con.execute("INSERT INTO quarantine_state VALUES (?, ?, ?, ?)",
                [run_id, _quarantine_fingerprint(), incremental.loaded_runs(con),
                 base["checks_since_full"] + 1 if base else 0])
    return "incremental" if base else "full"


def _quarantine_metrics(con, run_id: str, settings: dict) -> list[dict]:
    """Record this run's quarantined rows; report each check's count (for the record) and each
    table's distinct quarantined rows against what `max_quarantine_rate` allows."""
    scope = _record_quarantine(con, run_id)
    log.info("validate: %s quarantine check", scope)
    by_check = {(c, t): (n, keys) for c, t, n, keys in con.execute(
        "SELECT check_name, table_name, count(*), list(record_key ORDER BY record_key)[1:3] "
        "FROM quarantine WHERE run_id = ? GROUP BY ALL", [run_id]).fetchall()}
    metrics = []
    checks = {**quarantine_checks(), **{r.check: r.table for r in _value_rules()}}
    for check, table in checks.items():
        n, keys = by_check.get((check, table), (0, []))
        key = TABLES[table].key
        metrics.append(_metric(
            f"quarantine__{check}", table, n, n,  # for the record: the per-table total below decides
            f"{n} rows quarantined, their payouts held with data_inconsistent; e.g. "
            + ", ".join(f"{key} {k}" for k in keys) if n else None))
    rate = float(settings["max_quarantine_rate"])
    quarantined = dict(con.execute(
        "SELECT table_name, count(DISTINCT record_key) FROM quarantine WHERE run_id = ? GROUP BY ALL",
        [run_id]).fetchall())
    for table in LOAD_ORDER:
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        n = quarantined.get(table, 0)
        allowed = _allowed_bad_rows(rate, rows, settings)
        metrics.append(_metric(
            f"quarantined_rows__{table}", table, n, allowed,
            f"{n} of {rows} rows quarantined (at most {allowed} allowed: max_quarantine_rate {rate:g})"
            if n else None))
    return metrics


def _row_rule_metrics(con, run_id: str, table: str, settings: dict, increments: dict) -> list[dict]:
    """The increment for the table's GX suite; or, when the increment is too big for pandas (a first
    full load), the same rules' counts over this run's rows in one SQL scan. Either way the counts
    are for the record: a breaking row is quarantined (or was rejected) on its own."""
    rules = _rules_of(table)
    increment_n = con.execute(f'SELECT count(*) FROM "{table}" WHERE _loaded_run_id = $run_id',
                              {"run_id": run_id}).fetchone()[0]
    if increment_n <= settings["row_check_max_rows"]:
        increments[table] = con.execute(_frame_sql(table), {"run_id": run_id}).df()
        return []  # the GX suite of the table adds one metric per rule
    per_rule = [r for r in rules if r.kind != "unique"]  # uniqueness is the table's primary key
    counts = ", ".join(f"count(*) FILTER (WHERE {_violation_sql(r)})" for r in per_rule)
    current = con.execute(f'SELECT {counts} FROM "{table}" WHERE _loaded_run_id = $run_id',
                          {"run_id": run_id}).fetchone()
    key = TABLES[table].key
    dupes = con.execute(f'SELECT count("{key}") - count(DISTINCT "{key}") FROM "{table}" '
                        "WHERE _loaded_run_id = $run_id", {"run_id": run_id}).fetchone()[0]
    by_rule = dict(zip((r.check for r in per_rule), current))
    metrics = []
    for r in rules:
        n = dupes if r.kind == "unique" else by_rule[r.check]
        note = f"checked in DuckDB SQL: {increment_n} rows loaded by this run, above row_check_max_rows"
        metrics.append(_metric(r.check, table, n, _row_rule_allowed(r, n),
                               f"{n} of {increment_n} rows loaded by this run: {r.column} {r.says} ({note})"
                               if n else note))
    return metrics


def _row_rule_allowed(rule: RowRule, count: int) -> int:
    """A key rule must hold (ingest guarantees it: a break means the gate cannot vouch for the load);
    a value rule's breaking rows are quarantined, so its count is reported, not gated."""
    return 0 if rule not in _value_rules() else count



def _volume_metrics(con, run_id: str, rows_in: dict, settings: dict) -> list[dict]:
    """A current-state table never shrinks (upserts do not delete), and an increment far above the
    usual one means a wrong export (a full dump sent as a delta, a duplicated feed)."""
    started = con.execute("SELECT started_at FROM runs WHERE run_id = ?", [run_id]).fetchone()
    started = started[0] if started else None
    counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in LOAD_ORDER}
    # the latest earlier run that recorded its volumes (every run that gets here publishes a report)
    previous = con.execute(
        "SELECT v.run_id FROM table_volumes v JOIN runs r USING (run_id) "
        "WHERE v.run_id <> ? AND r.started_at <= ? ORDER BY r.started_at DESC, v.run_id DESC LIMIT 1",
        [run_id, started]).fetchone()
    before = dict(con.execute("SELECT table_name, rows_current FROM table_volumes WHERE run_id = ?",
                              [previous[0]]).fetchall()) if previous else {}
    con.execute("DELETE FROM table_volumes WHERE run_id = ?", [run_id])
    con.executemany("INSERT INTO table_volumes VALUES (?, ?, ?)", [[run_id, t, n] for t, n in counts.items()])

    n_history, factor, min_runs = int(settings["volume_history_runs"]), float(settings["volume_max_factor"]), \
        int(settings["volume_min_history_runs"])
    history: dict[str, list[int]] = {}
    for table, n in con.execute(
        "SELECT table_name, rows_in FROM ("
        "  SELECT s.table_name, s.rows_in, row_number() OVER (PARTITION BY s.table_name "
        "         ORDER BY r.started_at DESC, r.run_id DESC) AS k"
        "  FROM load_stats s JOIN runs r USING (run_id) WHERE s.run_id <> ? AND r.started_at <= ?"
        ") WHERE k <= ? ORDER BY table_name, k", [run_id, started, n_history]).fetchall():
        history.setdefault(table, []).append(n)

    metrics = []
    for table in LOAD_ORDER:
        now = counts[table]
        if not previous:
            metrics.append(_metric(f"volume_not_shrinking__{table}", table, 0, 0,
                                   "first run: no earlier run to compare with"))
        elif table not in before:
            metrics.append(_metric(f"volume_not_shrinking__{table}", table, 0, 0,
                                   f"run {previous[0]} recorded no count for this table"))
        else:
            lost = max(before[table] - now, 0)
            metrics.append(_metric(
                f"volume_not_shrinking__{table}", table, lost, 0,
                f"{now} rows in the current state, {before[table]} after run {previous[0]}: upserts never "
                f"delete, so {lost} rows went missing from the DuckDB file" if lost else None))

        came_in = rows_in.get(table)
        past = history.get(table, [])
        if came_in is None:
            metrics.append(_metric(f"volume_increment_usual__{table}", table, math.nan, 0,
                                   "no load statistics for this run: the increment is unknown"))
        elif len(past) < min_runs:
            why = "first run: no earlier increments to compare with" if not past else (
                f"only {len(past)} earlier run(s); comparing with the usual increment needs {min_runs}")
            metrics.append(_metric(f"volume_increment_usual__{table}", table, came_in, came_in, why))
        else:
            usual = statistics.median(past)
            allowed = factor * max(usual, 1)  # a table that usually gets nothing still may get a few
            metrics.append(_metric(
                f"volume_increment_usual__{table}", table, came_in, allowed,
                f"{came_in} rows came in, more than {factor:g} times the usual increment of {usual:g} rows "
                f"(median of the last {len(past)} runs)" if came_in > allowed else None))
    return metrics


# --- Great Expectations -----------------------------------------------------------------------------

def _expectation(gx, rule: RowRule):
    meta = {"check": rule.check}
    E = gx.expectations
    if rule.kind == "not_null":
        return E.ExpectColumnValuesToNotBeNull(column=rule.column, meta=meta)
    if rule.kind == "unique":
        return E.ExpectColumnValuesToBeUnique(column=rule.column, meta=meta)
    if rule.kind == "in_set":
        return E.ExpectColumnValuesToBeInSet(column=rule.column, value_set=list(rule.values), meta=meta)
    if rule.kind == "between":
        return E.ExpectColumnValuesToBeBetween(column=rule.column, min_value=rule.min_value,
                                               max_value=rule.max_value, strict_min=rule.strict_min, meta=meta)
    if rule.kind == "regex":
        return E.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.regex, meta=meta)
    raise ValueError(rule.kind)


def _breaking_rows(frame: pd.DataFrame, rule: RowRule) -> pd.DataFrame:
    """The rows behind a failed expectation, only to name a few in the message (GX keeps none)."""
    col = frame[rule.column]
    if rule.kind == "not_null":
        mask = col.isna()
    elif rule.kind == "unique":
        mask = col.notna() & col.duplicated(keep=False)
    elif rule.kind == "in_set":
        mask = col.notna() & ~col.isin(list(rule.values))
    elif rule.kind == "between":
        num = pd.to_numeric(col, errors="coerce")
        low = num <= rule.min_value if rule.strict_min else num < rule.min_value
        mask = col.notna() & (low | (num > rule.max_value if rule.max_value is not None else False))
    else:
        mask = col.notna() & ~col.astype(str).str.contains(rule.regex, regex=True)
    return frame[mask]


def _failure_detail(frame: pd.DataFrame, rule: RowRule, count: int) -> str:
    key = TABLES[rule.table].key
    rows = _breaking_rows(frame, rule).head(3)
    if rule.personal:  # name the records, never the personal values
        examples = ", ".join(f"{key} {k}" for k in rows[key])
        examples += " (values withheld: personal data)"
    else:
        examples = ", ".join(f"{key} {k}: {v!r}" for k, v in zip(rows[key], rows[rule.column]))
    return (f"{count} of {len(frame)} rows loaded by this run: {rule.column} {rule.says}; e.g. {examples}"
            + ("; quarantined" if rule in _value_rules() else ""))


def _context(docs_root: Path | None):
    """An in-memory GX context (suites and datasources are rebuilt from code each run, so nothing
    to keep in sync on disk) whose validation results and Data Docs, when wanted, are files under
    `docs_root`: every run's results are kept and the site's index lists them all."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    stores, sites = dict(defaults.stores), {}
    if docs_root is not None:
        docs_root.mkdir(parents=True, exist_ok=True)
        stores[defaults.validation_results_store_name] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(docs_root / "validations")},
        }
        sites = {"local_site": {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_root / "data_docs")},
            # the index reads every result it lists: list the latest ones only, or building it
            # would grow with the history (older pages stay on disk)
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                   "validation_results_limit": DOCS_INDEX_RESULTS},
        }}
    config = DataContextConfig(
        store_backend_defaults=defaults, stores=stores, data_docs_sites=sites, analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),  # tqdm bars are noise in task logs
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def run_gate(metrics: list[dict]) -> dict:
    """Run the GX row suites on this run's increments, then the gate suite on every metric; return
    a deterministic, JSON-able outcome (no paths, times or GX run ids). Any GX error fails closed.

    With a GateInput that has a docs root, the results are kept in that GX project and rendered as
    Data Docs; the run's gate page is then in `metrics.data_docs_page` (not in the outcome)."""
    import great_expectations as gx

    gate_input = metrics if isinstance(metrics, GateInput) else GateInput(metrics)
    rows_by_check = {r.check: r for r in ROW_RULES}
    all_metrics = [dict(m) for m in gate_input]
    gx_error = None
    failing: set[str] = set()
    try:
        context = _context(gate_input.docs_root)
        run_id = None
        if gate_input.run_id:
            from great_expectations.core.run_identifier import RunIdentifier

            # the run time comes from the as-of date, never the clock: the same run, the same pages
            as_of = gate_input.as_of or dt.date(1970, 1, 1)
            run_id = RunIdentifier(run_name=gate_input.run_id,
                                   run_time=dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.timezone.utc))
        source = context.data_sources.add_or_update_pandas(DATASOURCE)
        identifiers = []

        for table in LOAD_ORDER:
            frame = gate_input.increments.get(table)
            if frame is None:
                continue
            suite = context.suites.add_or_update(gx.ExpectationSuite(
                name=f"{table}_rows", expectations=[_expectation(gx, r) for r in _rules_of(table)]))
            batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("this_run")
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"{table}_rows", data=batch, suite=suite))
            # SUMMARY without unexpected values: counts only, so no personal value is kept
            result = definition.run(batch_parameters={"dataframe": frame}, run_id=run_id,
                                    result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0})
            identifiers.append(_result_identifier(suite.name, table, run_id))
            seen = set()
            for r in result.results:
                check = (r.expectation_config.meta or {}).get("check")
                rule = rows_by_check.get(check)
                if rule is None:
                    continue
                seen.add(check)
                count = r.result.get("unexpected_count")
                raised = (r.exception_info or {}).get("raised_exception") or any(
                    isinstance(v, dict) and v.get("raised_exception") for v in (r.exception_info or {}).values())
                if r.success and not raised:
                    all_metrics.append(_metric(check, table, int(count or 0), 0))
                elif raised or not count:
                    all_metrics.append(_metric(check, table, math.nan, 0,
                                               f"GX could not evaluate {rule.column} on {len(frame)} rows"))
                else:
                    all_metrics.append(_metric(check, table, int(count), _row_rule_allowed(rule, int(count)),
                                               _failure_detail(frame, rule, int(count))))
            for rule in _rules_of(table):
                if rule.check not in seen:
                    all_metrics.append(_metric(rule.check, table, math.nan, 0, "GX returned no result"))

        gate_frame = pd.DataFrame({
            "check_name": [m["check_name"] for m in all_metrics],
            "observed": [math.nan if m["observed"] is None else float(m["observed"]) for m in all_metrics],
            "allowed": [float(m["allowed"]) for m in all_metrics],
        })
        expected = _expected_checks(gate_input)
        suite = context.suites.add_or_update(gx.ExpectationSuite(name=SUITE_NAME, expectations=[
            gx.expectations.ExpectColumnValuesToNotBeNull(column="observed"),
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(column_A="allowed", column_B="observed",
                                                                    or_equal=True),
            gx.expectations.ExpectColumnValuesToBeUnique(column="check_name"),
        ] + ([gx.expectations.ExpectColumnDistinctValuesToContainSet(column="check_name", value_set=sorted(expected))]
             if expected else [])))
        batch = source.add_dataframe_asset("gate_metrics").add_batch_definition_whole_dataframe("this_run")
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=SUITE_NAME, data=batch, suite=suite))
        result = definition.run(
            batch_parameters={"dataframe": gate_frame}, run_id=run_id,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["check_name"]},
        )
        identifiers.append(_result_identifier(SUITE_NAME, "gate_metrics", run_id))
        for r in result.results:
            for row in r.result.get("unexpected_index_list") or []:
                failing.add(row["check_name"])
            if not r.success and not r.result.get("unexpected_index_list"):
                failing.add(f"gate:{r.expectation_config.type}")  # the frame itself is wrong: fail closed
        if gate_input.docs_root is not None and run_id is not None:
            context.build_data_docs(resource_identifiers=identifiers)
            gate_input.data_docs_page = data_docs_page_from(gate_input.docs_root, run_id)
        gx_success = bool(result.success)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the gate must not pass
        log.exception("the Great Expectations gate could not run")
        gx_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}"
        gx_success = False

    checks = []
    for m in all_metrics:
        observed = m["observed"]
        bad = observed is None or (isinstance(observed, float) and math.isnan(observed))
        checks.append({
            "check": m["check_name"], "table": m["table_name"],
            "success": not bad and m["check_name"] not in failing and gx_error is None
            and float(m["allowed"]) >= float(observed),
            "observed": None if bad else (round(observed, 6) if isinstance(observed, float) else observed),
            "allowed": m["allowed"], "detail": m["detail"],
        })
    present = {c["check"] for c in checks}
    for name in sorted(_expected_checks(gate_input) - present):
        checks.append({"check": name, "table": _table_of(name), "success": False, "observed": None,
                       "allowed": 0, "detail": "no result for this check: the gate cannot vouch for the data"})
    for name in sorted(f for f in failing if f.startswith("gate:")):
        checks.append({"check": name, "table": "all", "success": False, "observed": None, "allowed": None,
                       "detail": "the gate's own metrics are incomplete or duplicated"})
    if gx_error:
        checks.append({"check": "great_expectations_ran", "table": "all", "success": False, "observed": None,
                       "allowed": None, "detail": f"Great Expectations failed: {gx_error}"})
    order = {t: i for i, t in enumerate(LOAD_ORDER)}
    checks.sort(key=lambda c: (order.get(c["table"], 99), c["check"]))
    failed = [c for c in checks if not c["success"]]
    return {
        "engine": f"great_expectations {gx.__version__}",
        "suite": SUITE_NAME,
        "success": gx_success and not failed,
        "evaluated": len(checks),
        "failed": len(failed),
        "checks": checks,
    }


def _table_of(check: str) -> str:
    if check.startswith("quarantine__") and check.removeprefix("quarantine__") in quarantine_checks():
        return quarantine_checks()[check.removeprefix("quarantine__")]
    return check.rsplit("__", 1)[1] if "__" in check else "all"


def _expected_checks(gate_input: GateInput) -> set[str]:
    """Every check a full run of the gate reports; anything missing fails. A bare metrics list
    (no run) expects nothing more than it holds."""
    if gate_input.run_id is None:
        return set()
    expected = {f"quarantine__{check}" for check in quarantine_checks()}
    expected |= {f"quarantine__{r.check}" for r in _value_rules()}
    for table in LOAD_ORDER:
        expected |= {f"file_readable__{table}", f"rejected_rows__{table}", f"quarantined_rows__{table}",
                     f"volume_not_shrinking__{table}", f"volume_increment_usual__{table}"}
        expected |= {r.check for r in _rules_of(table)}
    return expected


def _result_identifier(suite_name: str, asset: str, run_id):
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    # a pandas dataframe batch is identified as "<datasource>-<asset>"
    return ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                                      run_id=run_id, batch_identifier=f"{DATASOURCE}-{asset}")


def data_docs_page_from(docs_root: Path, run_id) -> Path | None:
    page = (docs_root / "data_docs" / "validations" / SUITE_NAME / run_id.run_name
            / run_id.to_tuple()[1] / f"{DATASOURCE}-gate_metrics.html")
    return page if page.exists() else None


def failure_message(outcome: dict) -> str:
    failed = [c for c in outcome["checks"] if not c["success"]]
    if not failed:
        return "data validation passed"
    lines = [f"data validation failed ({len(failed)} of {outcome['evaluated']} checks):"]
    for c in failed:
        detail = c["detail"] or f"observed {c['observed']}, allowed {c['allowed']}"
        lines.append(f"  - {c['table']}: {c['check']}: {detail}")
    return "\n".join(lines)
