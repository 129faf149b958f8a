"""`bountyguard forget` erases a person's personal data everywhere the DuckDB file keeps it, keeps
decisions, amounts and the audit trail, and a later run over the old landing file does not bring it
back."""
from __future__ import annotations

import csv

import duckdb
import pytest

from bountyguard import cli
from bountyguard.report import latest_published
from tests.builders import Platform

AS_OF = "2026-06-30"
EMAIL, PHONE, IBAN = "Jana.Novak+ref@Example.org", "+49 (0)170 555-1234", "DE89 3704 0044 0532 0130 00"
NAME = "Jana Nováková"


def every_value(db) -> str:
    """The text of every row of every table in the DuckDB file."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return "\n".join(str(row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"').fetchall())
    finally:
        con.close()


def decisions(db) -> dict:
    with open(latest_published(db) / "payout_decisions.csv", newline="") as f:
        return {r["payout_id"]: (r["decision"], r["reasons"]) for r in csv.DictReader(f)}


@pytest.fixture
def screened(tmp_path):
    p = Platform()
    p.job("J1", "C1")
    p.job("J2", "C2")
    p.add("referrers", referrer_id="R1", full_name=NAME, email=EMAIL, phone=PHONE, payout_iban=IBAN)
    p.add("candidates", candidate_id="K1", full_name=NAME, email=EMAIL, phone=PHONE)  # herself: self-referral
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    p.referred_hire("2", "R2", "K2", "J2", started="2026-03-02")
    landing = p.write_landing(tmp_path / "landing")
    db = tmp_path / "bg.duckdb"
    assert cli.main(["run", "--landing", str(landing), "--db", str(db), "--as-of", AS_OF]) == 0
    return db, landing


def test_forget_a_person_erases_their_data_and_keeps_decisions_and_audit(screened, capsys):
    db, landing = screened
    before = decisions(db)
    assert before["P1"][0] == "hold" and "self_referral" in before["P1"][1]
    assert "nov" in every_value(db).lower()  # the name's keys and values are there before
    con = duckdb.connect(str(db), read_only=True)
    person = con.execute("SELECT person_id FROM person_records WHERE record_id = 'R1'").fetchone()[0]
    con.close()
    # a kept anomaly model holds behaviour features per person (this population is too small for one)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO anomaly_model VALUES ('referrer', 'f', DATE '2026-06-30', 60, 0.9, [1.0])")
    con.execute("INSERT INTO anomaly_reference VALUES ('referrer', ?, [3.0])", [person])
    con.execute("INSERT INTO anomaly_scores (entity, person_id, features_hash, score) VALUES ('referrer', ?, 42, 0.99)",
                [person])
    con.execute("INSERT INTO anomaly_explanations VALUES ('referrer', ?, 0.99, '0.99', '{}', '[]')", [person])
    con.close()
    assert cli.main(["forget", "--db", str(db), "--person", person, "--by", "dpo", "--reason", "request 2026-07"]) == 0
    assert "forgot 2 records: candidate:K1, referrer:R1" in capsys.readouterr().out
    text = every_value(db)
    for value in (EMAIL, EMAIL.lower(), "janan", PHONE, "4917055512", IBAN, IBAN.replace(" ", ""), NAME, "novakova"):
        assert value.lower() not in text.lower(), value
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT amount FROM payouts WHERE payout_id = 'P1'").fetchone()[0] == 1000
    assert con.execute("SELECT count(*) FROM payout_decisions WHERE payout_id = 'P1'").fetchone()[0] == 1
    assert con.execute("SELECT record_type, record_id, forgotten_by, reason FROM forgotten_records ORDER BY 1").fetchall() == [
        ("candidate", "K1", "dpo", "request 2026-07"), ("referrer", "R1", "dpo", "request 2026-07")]
    con.close()
    assert decisions(db) == before  # the published decisions are untouched
    con = duckdb.connect(str(db), read_only=True)
    assert [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("anomaly_model", "anomaly_reference", "anomaly_scores", "anomaly_explanations")
            ] == [0, 0, 0, 0]  # the next run fits
    con.close()

    # the next run reads the OLD landing file again: the data stays erased
    assert cli.main(["run", "--landing", str(landing), "--db", str(db), "--as-of", AS_OF]) in (0, 3)
    text = every_value(db)
    for value in (EMAIL.lower(), IBAN.replace(" ", ""), NAME):
        assert value.lower() not in text.lower(), value


def test_forget_one_record_and_refuse_unknown_ones(screened, capsys):
    db, _ = screened
    assert cli.main(["forget", "--db", str(db), "--record", "referrer:R1", "--by", "dpo", "--reason", "r"]) == 0
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT full_name, email, phone, payout_iban FROM referrers WHERE referrer_id = 'R1'").fetchone()
    kept = con.execute("SELECT email FROM candidates WHERE candidate_id = 'K1'").fetchone()[0]
    con.close()
    assert row == ("[forgotten]", None, None, None) and kept == EMAIL  # only that record
    assert cli.main(["forget", "--db", str(db), "--record", "referrer:NOPE", "--by", "dpo", "--reason", "r"]) == 2
    assert cli.main(["forget", "--db", str(db), "--person", "PNOPE", "--by", "dpo", "--reason", "r"]) == 2
    assert "not in the newest run's identities" in capsys.readouterr().err


def test_a_daily_run_erases_what_it_loads_of_forgotten_records_and_nothing_else(screened, tmp_path):
    """An ingest blanks only the rows it loaded of forgotten records (sql/privacy/forgotten_now.sql):
    a referral the platform sends for a forgotten referrer, alone, loses its IP and device; a
    referral of someone else in the same file keeps them; the erased rows stay erased."""
    db, _ = screened
    assert cli.main(["forget", "--db", str(db), "--record", "referrer:R1", "--by", "dpo", "--reason", "r"]) == 0
    day = Platform()
    day.add("referrals", referral_id="RF8", referrer_id="R1", candidate_id="K2", job_id="J2",
            referred_at="2026-06-30T09:00:00Z", ip_address="203.0.113.7", device_id="device-of-jana")
    day.add("referrals", referral_id="RF9", referrer_id="R2", candidate_id="K1", job_id="J1",
            referred_at="2026-06-30T10:00:00Z", ip_address="198.51.100.9", device_id="device-of-r2")
    landing = day.write_landing(tmp_path / "day-1")
    assert cli.main(["run", "--landing", str(landing), "--db", str(db), "--as-of", "2026-07-01"]) in (0, 3)
    con = duckdb.connect(str(db), read_only=True)
    try:
        clicks = dict((r[0], r[1:]) for r in con.execute(
            "SELECT referral_id, ip_address, device_id FROM referrals WHERE referral_id IN ('RF8', 'RF9')").fetchall())
        referrer = con.execute("SELECT full_name, email FROM referrers WHERE referrer_id = 'R1'").fetchone()
    finally:
        con.close()
    assert clicks == {"RF8": (None, None), "RF9": ("198.51.100.9", "device-of-r2")}
    assert referrer == ("[forgotten]", None)
    assert "device-of-jana" not in every_value(db)
