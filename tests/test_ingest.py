"""Bad input gets a clear message naming the file, line and column; nothing is lost (rows in =
loaded + rejected); a payout touched by a defect is never released."""
import csv
import json
from pathlib import Path

import duckdb
import pytest

from bountyguard.cli import main
from tests.builders import Platform

AS_OF = "2026-06-30"


def small_platform() -> Platform:
    p = Platform()
    for i in range(1, 5):
        p.job(f"J{i}", f"C{i}")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    p.referred_hire("2", "R2", "K2", "J2", started="2026-03-03")
    p.referred_hire("3", "R3", "K3", "J3", started="2026-03-04")
    p.referred_hire("4", "R4", "K4", "J4", started="2026-03-05")
    return p


def run(tmp_path, landing, capsys, extra=()):
    code = main(["run", "--landing", str(landing), "--db", str(tmp_path / "bg.duckdb"), "--as-of", AS_OF, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def latest_report(tmp_path) -> dict:
    root = tmp_path / "bg.published"
    run_id = (root / "LATEST").read_text().strip()
    return json.loads((root / run_id / "report.json").read_text())


def latest_decisions(tmp_path) -> dict:
    root = tmp_path / "bg.published"
    run_id = (root / "LATEST").read_text().strip()
    with open(root / run_id / "payout_decisions.csv", newline="") as f:
        return {r["payout_id"]: r["decision"] for r in csv.DictReader(f)}


def latest_reasons(tmp_path) -> dict:
    root = tmp_path / "bg.published"
    run_id = (root / "LATEST").read_text().strip()
    with open(root / run_id / "payout_decisions.csv", newline="") as f:
        return {r["payout_id"]: (r["decision"], r["reasons"]) for r in csv.DictReader(f)}


def rewrite(path: Path, transform) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(transform(lines)), encoding="utf-8")


def test_clean_landing_releases_and_counts_reconcile(tmp_path, capsys):
    landing = small_platform().write_landing(tmp_path / "landing")
    code, out, _ = run(tmp_path, landing, capsys)
    assert code == 0, out
    report = latest_report(tmp_path)
    assert report["status"] == "clean"
    assert report["tables"]["payouts"] == {"file": "payouts.csv", "rows_in": 4, "rows_loaded": 4,
                                           "rows_rejected": 0, "rows_quarantined": 0, "problem": None}
    assert latest_decisions(tmp_path) == {f"P{i}": "release" for i in range(1, 5)}


def test_missing_table_fails_closed_naming_the_file(tmp_path, capsys):
    landing = small_platform().write_landing(tmp_path / "landing", skip=("hires",))
    code, out, err = run(tmp_path, landing, capsys)
    assert code == 3
    assert "hires.csv: missing" in out + err
    assert "Traceback" not in out + err
    assert latest_report(tmp_path)["status"] == "not_clean"


def test_missing_column_names_file_line_and_column(tmp_path, capsys):
    landing = small_platform().write_landing(tmp_path / "landing")
    rewrite(landing / "payouts.csv", lambda ls: [ls[0].replace("eligible_at", "eligible_on"), *ls[1:]])
    code, out, err = run(tmp_path, landing, capsys)
    assert code == 3
    assert "payouts.csv: line 1 (header): missing column(s) eligible_at" in out + err
    report = latest_report(tmp_path)
    assert report["tables"]["payouts"]["rows_in"] == 4
    assert report["tables"]["payouts"]["rows_rejected"] == 4
    assert "release" not in latest_decisions(tmp_path).values()


def test_unparseable_date_is_rejected_with_file_line_and_column(tmp_path, capsys):
    landing = small_platform().write_landing(tmp_path / "landing")
    # line 3 of hires.csv is hire H2: its started_at becomes unreadable
    rewrite(landing / "hires.csv", lambda ls: [*ls[:2], ls[2].replace("2026-03-03", "03/03/2026"), *ls[3:]])
    code, out, err = run(tmp_path, landing, capsys)
    con = duckdb.connect(str(tmp_path / "bg.duckdb"), read_only=True)
    rejects = con.execute("SELECT source_file, line, record_key, column_name, reason, value FROM rejects").fetchall()
    con.close()
    hire_reject = [r for r in rejects if r[0].endswith("hires.csv")]
    assert hire_reject == [(str(landing / "hires.csv"), 3, "H2", "started_at",
                            "not a date (expected YYYY-MM-DD)", "03/03/2026")]
    report = latest_report(tmp_path)
    assert report["tables"]["hires"]["rows_in"] == 4
    assert report["tables"]["hires"]["rows_loaded"] == 3
    assert report["tables"]["hires"]["rows_rejected"] == 1
    # one unreadable row holds its own payout, with the reason, and nobody else's
    assert code == 0, err  # 1 rejected row is within tolerated_bad_rows: the data as a whole is fine
    assert latest_reasons(tmp_path)["P2"] == ("hold", "data_inconsistent;data_rejected")  # P2 names a hire not loaded
    assert {latest_decisions(tmp_path)[p] for p in ("P1", "P3", "P4")} == {"release"}
    assert "hires.csv: line 3, column started_at: not a date (expected YYYY-MM-DD)" in out


def test_duplicate_key_and_enum_are_rejected_unknown_foreign_key_quarantined(tmp_path, capsys):
    p = small_platform()
    p.add("referrals", referral_id="RF9", referrer_id="R404", candidate_id="K1", job_id="J1",
          referred_at="2026-01-01T00:00:00Z")
    p.add("referrals", referral_id="RF8", referrer_id="R1", candidate_id="K1", job_id="J1",
          referred_at="2026-01-01T00:00:00Z", channel="carrier pigeon")
    p.add("companies", company_id="C1", name="Twin")
    landing = p.write_landing(tmp_path / "landing")
    run(tmp_path, landing, capsys)
    con = duckdb.connect(str(tmp_path / "bg.duckdb"), read_only=True)
    reasons = {(Path(f).name, k, c): r for f, k, c, r in con.execute(
        "SELECT source_file, record_key, column_name, reason FROM rejects").fetchall()}
    con.close()
    assert ("referrals.csv", "RF9", "referrer_id") not in reasons  # readable: loaded and quarantined
    con = duckdb.connect(str(tmp_path / "bg.duckdb"), read_only=True)
    assert con.execute("SELECT check_name FROM quarantine WHERE record_key = 'RF9'").fetchall() == [
        ("referral_parents_exist",)]
    con.close()
    assert reasons[("referrals.csv", "RF8", "channel")].startswith("unknown value")
    assert reasons[("companies.csv", "C1", "company_id")].startswith("duplicate key")
    report = latest_report(tmp_path)
    t = report["tables"]
    for name in t:
        assert t[name]["rows_in"] == t[name]["rows_loaded"] + t[name]["rows_rejected"]


def test_truncated_line_and_wrong_delimiter(tmp_path, capsys):
    landing = small_platform().write_landing(tmp_path / "landing")
    rewrite(landing / "referrals.csv", lambda ls: [*ls[:3], ls[3][:12] + "\n", *ls[4:]])
    code, out, err = run(tmp_path, landing, capsys)
    assert code == 0, err  # one truncated line: its own payout is held, the rest are decided
    assert latest_reasons(tmp_path)["P3"][0] == "hold"
    con = duckdb.connect(str(tmp_path / "bg.duckdb"), read_only=True)
    [(line, reason)] = con.execute(
        "SELECT line, reason FROM rejects WHERE table_name = 'referrals' AND column_name IS DISTINCT FROM 'referral_id'"
        " AND reason LIKE 'too few%'").fetchall()
    con.close()
    assert line == 4

    landing2 = small_platform().write_landing(tmp_path / "landing2")
    rewrite(landing2 / "jobs.csv", lambda ls: [l.replace(",", ";") for l in ls])
    code, out, err = run(tmp_path, landing2, capsys)
    assert code == 3
    assert "jobs.csv: line 1 (header): missing column(s) job_id" in out + err


def test_other_encoding_and_empty_file(tmp_path, capsys):
    p = small_platform()
    p.rows["candidates"][0]["full_name"] = "Jürgen Müller"
    landing = p.write_landing(tmp_path / "landing")
    (landing / "candidates.csv").write_bytes((landing / "candidates.csv").read_text().encode("latin-1"))
    code, out, err = run(tmp_path, landing, capsys)
    report = latest_report(tmp_path)
    assert report["tables"]["candidates"]["rows_rejected"] == 1
    assert any("not UTF-8" in r["reason"] for r in report["rejects_sample"])
    assert code == 0, err
    assert latest_decisions(tmp_path)["P1"] == "hold"  # K1's row could not be read: its payout waits

    landing2 = small_platform().write_landing(tmp_path / "landing2")
    (landing2 / "payouts.csv").write_text("")
    code, out, err = run(tmp_path, landing2, capsys)
    assert code == 3
    assert "payouts.csv: the file is empty" in out + err


def test_next_run_on_fixed_data_is_clean(tmp_path, capsys):
    landing = small_platform().write_landing(tmp_path / "landing", skip=("hires",))
    assert run(tmp_path, landing, capsys)[0] == 3
    fixed = small_platform().write_landing(tmp_path / "fixed")
    code, out, _ = run(tmp_path, fixed, capsys)
    assert code == 0, out
    assert latest_report(tmp_path)["status"] == "clean"


def test_same_landing_twice_gives_same_state_decisions_and_digest(tmp_path, capsys):
    landing = small_platform().write_landing(tmp_path / "landing")
    run(tmp_path, landing, capsys)
    first = latest_report(tmp_path)
    first_decisions = latest_decisions(tmp_path)
    run(tmp_path, landing, capsys)
    second = latest_report(tmp_path)
    assert second["run_id"] != first["run_id"]
    assert second["inputs_sha256"] == first["inputs_sha256"]
    assert second["report_sha256"] == first["report_sha256"]
    assert latest_decisions(tmp_path) == first_decisions


def test_later_updated_at_wins_in_any_load_order(tmp_path, capsys):
    base = small_platform()
    landing = base.write_landing(tmp_path / "base")
    early = Platform()
    early.rows = {t: [dict(r) for r in rows] for t, rows in base.rows.items()}
    early.rows["hires"][0].update(ended_at="2026-04-01", end_reason="resigned", updated_at="2026-04-02T00:00:00Z")
    late = Platform()
    late.rows = {t: [dict(r) for r in rows] for t, rows in base.rows.items()}
    late.rows["hires"][0].update(ended_at="2026-03-20", end_reason="dismissed", updated_at="2026-04-10T00:00:00Z")
    a = early.write_landing(tmp_path / "a")
    b = late.write_landing(tmp_path / "b")

    def ended(db):
        con = duckdb.connect(str(db), read_only=True)
        v = con.execute("SELECT ended_at::VARCHAR, end_reason FROM hires WHERE hire_id = 'H1'").fetchone()
        con.close()
        return v

    for order, name in (((landing, a, b), "in_order"), ((landing, b, a), "out_of_order"), ((landing, b, b), "twice")):
        db = tmp_path / f"{name}.duckdb"
        for folder in order:
            main(["run", "--landing", str(folder), "--db", str(db), "--as-of", AS_OF])
        assert ended(db) == ("2026-03-20", "dismissed"), name
    capsys.readouterr()


def test_a_rejected_correction_holds_its_payout_in_a_clean_run(tmp_path, capsys):
    """Below the reject-rate threshold the run is clean, but a payout whose own row was rejected
    (here: its hire's late correction with an unreadable end date) is held, never released."""
    p = small_platform()
    landing = p.write_landing(tmp_path / "first")
    config = tmp_path / "lenient.toml"
    config.write_text("[ingest]\nmax_reject_rate = 0.5\n")
    assert run(tmp_path, landing, capsys, ("--config", str(config)))[0] == 0
    assert latest_decisions(tmp_path)["P1"] == "release"

    p.rows["hires"][0].update(ended_at="2026-13-45", end_reason="resigned", updated_at="2026-04-01T00:00:00Z")
    corrected = p.write_landing(tmp_path / "correction")
    code, out, _ = run(tmp_path, corrected, capsys, ("--config", str(config)))
    assert code == 0, out
    assert "hires.csv: line 2, column ended_at: not a date" in out
    decisions = latest_decisions(tmp_path)
    assert decisions["P1"] == "hold"
    assert {decisions[pid] for pid in ("P2", "P3", "P4")} == {"release"}


def test_a_due_payout_whose_row_is_unreadable_is_still_decided_and_held(tmp_path, capsys):
    p = small_platform()
    p.rows["payouts"][1]["amount"] = "a lot"
    landing = p.write_landing(tmp_path / "landing")
    config = tmp_path / "lenient.toml"
    config.write_text("[ingest]\nmax_reject_rate = 0.5\n")
    code, out, _ = run(tmp_path, landing, capsys, ("--config", str(config)))
    assert code == 0, out
    decisions = latest_decisions(tmp_path)
    assert decisions["P2"] == "hold"
    assert decisions["P1"] == decisions["P3"] == decisions["P4"] == "release"
