"""The contract's export files: flags.csv, payout_decisions.csv, identities.csv, report.json
(and ledger.csv from the payout ledger)."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import duckdb

from bountyguard.db import connect, register_function
from bountyguard.errors import BountyguardError
from bountyguard.report import load_verified_report, published_root

EXPORT_FILES = ("report.json", "flags.csv", "payout_decisions.csv", "identities.csv")


# Spreadsheet formula injection: analysts open these CSV files in a spreadsheet, which evaluates a cell
# that begins with = + - @ (or a tab / carriage return) as a formula. Such a cell gets a leading
# apostrophe (the OWASP advice), so it shows as text. A plain number (an amount such as -12.50, a
# score) is left as it is: a spreadsheet reads it as a number, never as a formula, and the contract's
# amounts stay machine-readable. Ids never need the apostrophe: ingest rejects an id that begins with
# one of these characters (bountyguard/ingest.py), so every id in an export is its landing id unchanged.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"[+-]?[0-9]+(\.[0-9]+)?"


def spreadsheet_safe(value):
    """`value` as a CSV cell that a spreadsheet shows as text and never evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not re.fullmatch(_PLAIN_NUMBER, value):
        return "'" + value
    return value


def _spreadsheet_safe_sql(column: str) -> str:
    """spreadsheet_safe as a DuckDB expression, so that COPY keeps writing the CSV itself."""
    c = '"' + column.replace('"', '""') + '"'
    text = f"CAST({c} AS VARCHAR)"
    starts = ", ".join("chr(%d)" % ord(ch) for ch in FORMULA_START)
    return (f"CASE WHEN left({text}, 1) IN ({starts}) AND NOT regexp_full_match({text}, '{_PLAIN_NUMBER}') "
            f"THEN chr(39) || {text} ELSE {c} END AS {c}")


def _copy_query(con: duckdb.DuckDBPyConnection, query: str, params: list, path: Path) -> None:
    # COPY cannot take parameters in every position; materialise the rows first
    con.execute(f"CREATE OR REPLACE TEMP TABLE export_rows AS {query}", params)
    # only text can hold a formula; typed numbers and dates are written as they are
    cells = [_spreadsheet_safe_sql(name) if kind == "VARCHAR" else '"' + name.replace('"', '""') + '"'
             for name, kind, *_ in con.execute("DESCRIBE export_rows").fetchall()]
    con.execute(f"COPY (SELECT {', '.join(cells)} FROM export_rows) "
                f"TO '{_path_literal(path)}' (FORMAT csv, HEADER true, QUOTE '\"', ESCAPE '\"')")
    con.execute("DROP TABLE export_rows")


def _path_literal(path: Path) -> str:
    return str(path).replace("'", "''")


def write_run_exports(con, run_id: str, folder: Path, report_sha256: str) -> None:
    _copy_query(
        con,
        "SELECT flag_id, run_id, pattern, entity_type, entity_id, score, severity, evidence FROM flags "
        "WHERE run_id = ? ORDER BY pattern, entity_type, entity_id",
        [run_id], folder / "flags.csv",
    )
    _copy_query(
        con,
        "SELECT payout_id, decision, reasons, run_id, ?::VARCHAR AS report_sha256 FROM payout_decisions "
        "WHERE run_id = ? ORDER BY payout_id",
        [report_sha256, run_id], folder / "payout_decisions.csv",
    )
    _copy_query(
        con,
        "SELECT record_type, record_id, person_id FROM run_identities WHERE run_id = ? "
        "ORDER BY record_type, record_id",
        [run_id], folder / "identities.csv",
    )


def write_release_batch(con, run_id: str, path: Path) -> None:
    """What the payment step needs for each `release` decision (the payee's IBAN is personal data
    and appears only here, where money is sent). The IBAN is the referrer's account normalised and
    checksum-validated (normalize.iban_key, the normaliser identity resolution hashes): an account
    number that fails its checksum is left empty, so the payout waits for a valid account instead of
    being sent to a mistyped one; so is one identity resolution gave no key (a fallback run, a
    forgotten record). Identity resolution stores only a keyed hash of it, so it is read here from the
    current state (referrers). The file is readable by its owner only (mode 0600; it is written inside
    the publisher's temporary folder, which mkdtemp makes 0700, so it is never readable by others, not
    even before this chmod)."""
    from bountyguard.normalize import iban_key

    register_function(con, "bg_payee_iban", iban_key)
    _copy_query(
        con,
        """
        SELECT d.payout_id, p.referrer_id, CAST(p.amount AS VARCHAR) AS amount, p.currency,
               CASE WHEN pr.iban_key IS NOT NULL THEN bg_payee_iban(r.payout_iban) END AS payee_iban
        FROM payout_decisions d
        JOIN payouts p USING (payout_id)
        LEFT JOIN person_records pr ON pr.record_type = 'referrer' AND pr.record_id = p.referrer_id
        LEFT JOIN referrers r ON r.referrer_id = p.referrer_id
        WHERE d.run_id = ? AND d.decision = 'release'
        ORDER BY d.payout_id
        """,
        [run_id], path,
    )
    os.chmod(path, 0o600)


def export_run(db: str | Path, out: str | Path, run_id: str | None = None) -> dict:
    """Write the contract's files for the newest published run (or `run_id`) into `out`."""
    out = Path(out)
    root = published_root(db)
    if run_id is None:
        pointer = root / "LATEST"
        if not pointer.exists():
            raise BountyguardError(f"{db}: no run has been published yet; run `bountyguard run` first")
        run_id = pointer.read_text(encoding="utf-8").strip()
    source = root / run_id
    out.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        # readers take the published copy, never the working DuckDB file, and only once it verifies
        load_verified_report(source)
        for name in EXPORT_FILES:
            shutil.copyfile(source / name, out / name)
    else:
        _export_from_db(db, run_id, out)
    from bountyguard.ledger import export_ledger_csv

    export_ledger_csv(db, out / "ledger.csv")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {"run_id": run_id, "status": report["status"], "out": str(out),
            "files": [*EXPORT_FILES, "ledger.csv"]}


def _export_from_db(db, run_id: str, out: Path) -> None:
    if not Path(db).exists():
        raise BountyguardError(f"{db}: no such DuckDB file")
    con = connect(db, read_only=True)
    try:
        row = con.execute("SELECT report_sha256, report_json FROM reports WHERE run_id = ?", [run_id]).fetchone()
        if row is None:
            raise BountyguardError(f"{db}: no published report for run {run_id!r}")
        if not con.execute("SELECT EXISTS (SELECT 1 FROM run_identities WHERE run_id = ?) OR NOT EXISTS "
                           "(SELECT 1 FROM referrers UNION ALL SELECT 1 FROM candidates)", [run_id]).fetchone()[0]:
            raise BountyguardError(f"{db}: run {run_id!r} is older than the retention ([retention] in the "
                                   "configuration) and its published folder is missing")
        write_run_exports(con, run_id, out, row[0])
        (out / "report.json").write_text(
            json.dumps(json.loads(row[1]), indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        con.close()
