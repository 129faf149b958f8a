"""CSV exports that analysts open in a spreadsheet never carry a cell it would run as a formula, while
ids and amounts stay exactly what the contract and its checker expect."""
from __future__ import annotations

import csv
import sqlite3

import duckdb
import pytest

from bountyguard import ledger, pipeline
from bountyguard.export import _copy_query, spreadsheet_safe
from bountyguard.report import latest_published
from tests.builders import Platform

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]
NUMBERS = ["-12.50", "+49", "0.75", "-3"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_formula_cells_become_text(cell):
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", NUMBERS + ["P000123", "{\"a\": 1}", "", "a=b"])
def test_numbers_ids_and_json_are_left_alone(cell):
    assert spreadsheet_safe(cell) == cell


def test_duckdb_exports_apply_the_same_rule(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE t(cell VARCHAR, amount DECIMAL(12,2), score DOUBLE)")
    cells = HOSTILE + NUMBERS + ["P1", "{\"k\": \"=x\"}"]
    con.executemany("INSERT INTO t VALUES (?, -12.50, 0.5)", [[c] for c in cells])
    _copy_query(con, "SELECT cell, amount, score FROM t ORDER BY rowid", [], tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["cell"] for r in rows] == [spreadsheet_safe(c) for c in cells]
    assert {r["amount"] for r in rows} == {"-12.50"}  # a negative amount stays a number


def test_ledger_csv_is_neutralised(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = ledger.open_ledger(db)
    con.close()
    # a hostile value in a ledger row (as a tampered or future provider might leave it)
    raw = sqlite3.connect(ledger.ledger_path(db))
    columns = [r[1] for r in raw.execute("PRAGMA table_info(releases)")]
    values = {c: "x" for c in columns}
    values.update(payout_id="=cmd()", amount="-5.00", currency="EUR", state="sent", released_at="2026-01-01")
    raw.execute(f"INSERT INTO releases ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [values[c] for c in columns])
    raw.commit()
    raw.close()
    out = ledger.export_ledger_csv(db, tmp_path / "ledger.csv")
    with open(out, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["payout_id"] == "'=cmd()" and row["amount"] == "-5.00"


def test_ids_a_spreadsheet_would_run_are_rejected_at_ingest(tmp_path):
    p = Platform()
    p.job("J1", "C1")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    p.referred_hire("2", "=HYPERLINK(\"http://evil\")", "K2", "J1", started="2026-03-02")
    db = tmp_path / "bg.duckdb"
    pipeline.run(p.write_landing(tmp_path / "landing"), db, "2026-06-30")
    con = duckdb.connect(str(db), read_only=True)
    reasons = con.execute(
        "SELECT DISTINCT table_name, column_name, reason FROM rejects WHERE reason LIKE '%formula%'").fetchall()
    con.close()
    assert ("referrers", "referrer_id", reasons[0][2]) in reasons
    run_dir = latest_published(db)
    for name in ("flags.csv", "payout_decisions.csv", "identities.csv", "release_batch.csv"):
        with open(run_dir / name, newline="") as f:
            for row in csv.reader(f):
                assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in row), (name, row)
    with open(run_dir / "payout_decisions.csv", newline="") as f:
        decisions = {r["payout_id"]: (r["decision"], r["reasons"]) for r in csv.DictReader(f)}
    assert decisions["P2"] == ("hold", "data_rejected") and decisions["P1"][0] == "release"
