"""Cases from real screening runs: who has a case, what a decision changes, and that it reaches the
next run's decisions and the payout job; the review store's trail; `bountyguard users/cases`."""
from __future__ import annotations

import sqlite3
import time

import duckdb
import pytest

from bountyguard import ledger, payouts
from bountyguard.cli import main
from bountyguard.config import load_config
from bountyguard.review import cases, store
from bountyguard.review.snapshot import TABLES
from tests.review_support import AS_OF, NEXT_DAY, add_new_hire_for_bernd, case_of, review_platform, run_cli, write

LEAD_ONLY_ABOVE = load_config()["review"]["lead_only_above"]
ANALYST = {"name": "ana", "role": "analyst"}


def decisions_of_newest(db) -> dict[str, tuple[str, str]]:
    _, _, decisions, _ = payouts.newest_verified_report(db)
    return {d["payout_id"]: (d["decision"], d["reasons"]) for d in decisions}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    platform = review_platform()
    landing = write(platform, root / "landing")
    db = root / "bg.duckdb"
    run_cli(db, landing, AS_OF)
    return {"root": root, "db": db, "landing": landing, "platform": platform}


def test_each_person_with_a_holding_flag_has_one_open_case(world):
    with cases.Snapshot(world["db"]) as snap:
        rows, total = snap.queue()
    assert total == 2
    assert [(r["display_name"], r["status"], list(r["patterns"])) for r in rows] == [
        ("Anna Selbst", "open", ["self_referral"]), ("Bernd Beispiel", "open", ["self_referral"])]
    # sorted by money at stake: Anna's 800 before Bernd's 600
    assert [str(r["at_stake"]) for r in rows] == ["800.00", "600.00"]
    assert sorted(rows[0]["roles"]) == ["candidate", "referrer"]


def test_case_page_data_names_records_links_flags_timeline_and_payouts(world):
    person = case_of(world["db"], "Anna Selbst")["person_id"]
    with cases.Snapshot(world["db"]) as snap:
        case = snap.case(person)
    assert {(r["record_type"], r["record_id"]) for r in case["records"]} == {("referrer", "RA"), ("candidate", "CA")}
    assert case["links"], "the two records are one person: the link that merged them is shown"
    assert all(link["rule"] for link in case["links"])
    [flag] = case["flags"]
    assert flag["pattern"] == "self_referral"
    labels = {i["label"]: i["text"] for i in flag["evidence_items"]}
    assert labels["referrer id"] == "RA (Anna Selbst)"
    assert [p["payout_id"] for p in case["payouts"]] == ["PA"]
    assert case["payouts"][0]["decision"] == "hold"
    assert [t["hire_id"] for t in case["timeline"]] == ["HA"]


def test_snapshot_is_published_with_the_run_and_the_working_file_is_not_needed(world, tmp_path):
    run_dir, _ = cases.newest_run(world["db"])
    assert sorted(p.stem for p in (run_dir / "review").glob("*.parquet")) == sorted(TABLES)
    # a screening run holding the DuckDB file's one write lock does not stop the review
    holder = duckdb.connect(str(world["db"]))
    try:
        with cases.Snapshot(world["db"]) as snap:
            assert snap.queue()[1] == 2
    finally:
        holder.close()


def test_decide_requires_a_comment_and_an_allowed_role(world):
    person = case_of(world["db"], "Anna Selbst")["person_id"]
    with pytest.raises(cases.CaseError, match="comment"):
        cases.decide(world["db"], person, "confirm", ANALYST, "  ", lead_only_above=LEAD_ONLY_ABOVE)
    with pytest.raises(cases.NotAllowedError, match="only a lead"):
        cases.decide(world["db"], person, "confirm", ANALYST, "fraud", lead_only_above=100.0)
    con = sqlite3.connect(store.store_path(world["db"]))
    assert con.execute("SELECT count(*) FROM case_decisions").fetchone()[0] == 0
    con.close()
    assert ledger.analyst_decisions(world["db"]) == []


def test_confirm_and_dismiss_reach_the_next_run_and_the_payout_job(tmp_path):
    platform = review_platform()
    landing = write(platform, tmp_path / "landing")
    db = tmp_path / "bg.duckdb"
    run_cli(db, landing, AS_OF)
    anna, bernd = case_of(db, "Anna Selbst")["person_id"], case_of(db, "Bernd Beispiel")["person_id"]

    with cases.Snapshot(db) as snap:
        confirm_plan = snap.plan(anna, "confirm", LEAD_ONLY_ABOVE)
        dismiss_plan = snap.plan(bernd, "dismiss", LEAD_ONLY_ABOVE)
    assert [(c["payout_id"], c["change"], c["amount"]) for c in confirm_plan["changes"]] == [("PA", "void", "800.00")]
    assert [(c["payout_id"], c["change"], c["amount"]) for c in dismiss_plan["changes"]] == [("PB", "release", "600.00")]

    cases.decide(db, anna, "confirm", ANALYST, "she is her own candidate", lead_only_above=LEAD_ONLY_ABOVE)
    cases.decide(db, bernd, "dismiss", ANALYST, "twin brother, checked the passport", lead_only_above=LEAD_ONLY_ABOVE)
    # the payout job now: PA is blocked by the analyst's void, PB is still held by this report
    summary = payouts.release(db)
    assert sorted(p["payout_id"] for p in summary["paid"]) == ["P1", "P2", "P3"]
    assert [b["payout_id"] for b in summary["blocked_by_analyst"]] == []  # PA was never decided release

    run_cli(db, landing, NEXT_DAY)
    decided = decisions_of_newest(db)
    assert decided["PA"] == ("void", "self_referral;analyst_void")
    assert decided["PB"] == ("release", "")
    summary = payouts.release(db)
    assert [p["payout_id"] for p in summary["paid"]] == ["PB"]
    assert payouts.release(db)["paid"] == []  # exactly once
    assert sorted(ledger.paid_payout_ids(db)) == ["P1", "P2", "P3", "PB"]

    # the same flags computed again do not reopen the dismissed case; Anna's stays confirmed
    assert case_of(db, "Bernd Beispiel")["status"] == "dismissed"
    assert case_of(db, "Anna Selbst")["status"] == "confirmed"
    # new evidence (another self-referral with its own payout) reopens it
    add_new_hire_for_bernd(platform)
    write(platform, landing)
    run_cli(db, landing, "2026-07-02")
    reopened = case_of(db, "Bernd Beispiel")
    assert reopened["status"] == "open" and reopened["last_action"] == "dismiss"
    assert decisions_of_newest(db)["PB2"] == ("hold", "self_referral")


def test_decisions_and_views_are_in_the_append_only_trail(world):
    person = case_of(world["db"], "Bernd Beispiel")["person_id"]
    con = store.open_store(world["db"])
    try:
        store.audit(con, "ana", "view_case", person, "test")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM audit_events")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE audit_events SET actor = 'x'")
        events = store.audit_events(con)
    finally:
        con.close()
    assert events[0]["action"] == "view_case" and events[0]["person_id"] == person


@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("fine", "fine"), (None, ""),
])
def test_audit_csv_cells_cannot_be_formulas(value, cell):
    assert store.csv_safe(value) == cell


def test_passwords_are_argon2_hashes_and_disabled_users_cannot_log_in(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = store.open_store(db)
    try:
        store.add_user(con, "ana", "analyst", "correct horse")
        stored = con.execute("SELECT password_hash FROM users").fetchone()[0]
        assert stored.startswith("$argon2id$") and "correct horse" not in stored
        assert store.check_login(con, "ana", "correct horse", "127.0.0.1") == {"name": "ana", "role": "analyst"}
        assert store.check_login(con, "ana", "wrong", "127.0.0.1") is None
        token, _ = store.new_session(con, "ana", 1.0)
        assert store.session_user(con, token)["name"] == "ana"
        store.disable_user(con, "ana")
        assert store.session_user(con, token) is None  # the open session ends too
        assert store.check_login(con, "ana", "correct horse", "127.0.0.1") is None
    finally:
        con.close()


def test_users_and_cases_commands(world, monkeypatch, capsys):
    db = str(world["db"])
    monkeypatch.setenv("BOUNTYGUARD_PASSWORD", "a long password")
    assert main(["users", "add", "lee", "--role", "lead", "--db", db]) == 0
    assert main(["users", "add", "cli-ana", "--role", "analyst", "--db", db]) == 0
    assert main(["users", "add", "lee", "--role", "lead", "--db", db]) != 0  # exists already
    capsys.readouterr()
    assert main(["users", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "lee" in out and "lead" in out and "a long password" not in out
    assert main(["cases", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "2 open cases" in out and "Anna Selbst" in out
    assert "anna.selbst@example.org" not in out  # masked in lists
    person = case_of(world["db"], "Anna Selbst")["person_id"]
    assert main(["cases", "show", person, "--db", db, "--by", "cli-ana"]) == 0
    out = capsys.readouterr().out
    assert "anna.selbst@example.org" in out and "self_referral" in out
    assert main(["cases", "decide", person, "--confirm", "--db", db, "--by", "cli-ana", "--reason", "x", "--dry-run"]) == 0
    assert "would confirm" in capsys.readouterr().out
    assert ledger.analyst_decisions(world["db"]) == []  # a dry run records nothing
    assert main(["users", "disable", "cli-ana", "--db", db]) == 0
    assert main(["cases", "show", person, "--db", db, "--by", "cli-ana"]) != 0
    con = store.open_store(world["db"])
    try:
        views = [e for e in store.audit_events(con) if e["action"] == "view_case" and e["actor"] == "cli-ana"]
    finally:
        con.close()
    assert len(views) == 1


def test_the_queue_is_paginated_in_sql_with_100000_flags(tmp_path):
    """A snapshot with 100,000 flags over 25,000 cases: a page is LIMIT/OFFSET in the SQL, and its
    cost is measured (printed), not asserted."""
    run_dir = tmp_path / "bg.published" / "20260630-001"
    (run_dir / "review").mkdir(parents=True)
    con = duckdb.connect()
    out = run_dir / "review"
    con.execute(f"""COPY (SELECT 'F' || i AS flag_id, ['anomaly', 'self_referral', 'job_hopping', 'velocity_spike'][1 + i % 4] AS pattern,
        'referral' AS entity_type, 'RL' || i AS entity_id, 'P' || (i % 25000) AS person_id, (i % 997) / 997.0 AS score,
        CASE WHEN i % 3 = 0 THEN 'high' ELSE 'medium' END AS severity, '{{}}' AS evidence, TRUE AS holds
        FROM range(100000) t(i)) TO '{out / 'flags.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT 'P' || i AS person_id, 'Person ' || i AS display_name, ['referrer'] AS roles,
        ['anomaly', 'self_referral'] AS patterns, CASE WHEN i % 2 = 0 THEN 'high' ELSE 'medium' END AS severity,
        CASE WHEN i % 2 = 0 THEN 3 ELSE 2 END AS severity_rank, (i % 997) / 997.0 AS score, 4 AS flag_count,
        ((i * 7919) % 100000 / 10.0)::DECIMAL(14, 2) AS at_stake, 0::DECIMAL(14, 2) AS held, 'EUR' AS currency,
        1 AS decided_payouts, ['anomaly', 'self_referral'] AS evidence_patterns, ['referral:RL' || i] AS evidence_records,
        DATE '2026-06-01' AS opened_as_of, i % 60 AS age_days FROM range(25000) t(i))
        TO '{out / 'cases.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT 'P' || i AS person_id, 'referrer' AS record_type, 'R' || i AS record_id,
        'Person ' || i AS full_name, 'p' || i || '@example.com' AS email, NULL::VARCHAR AS phone, NULL::VARCHAR AS payout_iban,
        NULL::DATE AS birth_date, NULL::VARCHAR AS city, NULL::TIMESTAMP AS created_at FROM range(25000) t(i))
        TO '{out / 'records.parquet'}' (FORMAT parquet)""")
    for name in ("payouts", "links", "timeline"):
        con.execute(f"COPY (SELECT 1 AS x WHERE false) TO '{out / (name + '.parquet')}' (FORMAT parquet)")
    con.close()

    from bountyguard.db import sql_text
    from bountyguard.review.snapshot import open_snapshot

    sql = sql_text("app/case_queue.sql")
    assert "LIMIT $limit OFFSET $offset" in sql
    snap_con = open_snapshot(run_dir)
    snap_con.execute("CREATE TABLE case_state (person_id VARCHAR, action VARCHAR, decided_by VARCHAR, decided_at VARCHAR, "
                     "evidence_patterns VARCHAR[], evidence_records VARCHAR[])")
    params = {"person_id": None, "status": "open", "pattern": None, "severity": None, "min_amount": None,
              "max_amount": None, "min_age_days": None, "max_age_days": None, "limit": 50, "offset": 100}
    plan = "\n".join(r[1] for r in snap_con.execute("EXPLAIN " + sql, params).fetchall())
    assert "Top N" in plan and "Top: 50" in plan and "Offset: 100" in plan  # the page is cut in the query
    started = time.perf_counter()
    rows = snap_con.execute(sql, params).fetchall()
    first_page_seconds = time.perf_counter() - started
    assert len(rows) == 50 and rows[0][-1] == 25000  # one page, and the count of all matching cases
    at_stake = [r[7] for r in rows]
    assert at_stake == sorted(at_stake, reverse=True)
    params |= {"pattern": "self_referral", "severity": "high", "min_amount": 5000, "offset": 0}
    started = time.perf_counter()
    rows = snap_con.execute(sql, params).fetchall()
    filtered_seconds = time.perf_counter() - started
    assert rows and all(r[4] == "high" and r[7] >= 5000 for r in rows)
    snap_con.close()
    print(f"\nqueue page over 100,000 flags / 25,000 cases: {first_page_seconds * 1000:.0f} ms; "
          f"filtered: {filtered_seconds * 1000:.0f} ms")
