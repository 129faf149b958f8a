"""The PostgreSQL source: increments by watermark, as-of bounded, streamed to a landing folder that the
normal ingest loads with zero rejects. Each test gets its own fresh database (tests/pg_support.py)."""
from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from bountyguard.contract import LOAD_ORDER, TABLES
from bountyguard.db import run_sql_file
from bountyguard.errors import BountyguardError
from bountyguard.ingest import ingest_landing
from bountyguard.source_postgres import (
    PullResult,
    describe_source,
    mask_uri,
    pull_increment,
    read_watermarks,
    save_watermarks,
)
from tests.pg_support import pg_database, platform_db  # noqa: F401  (fixtures)

FIRST_AS_OF = dt.date(2026, 3, 31)
SECOND_AS_OF = dt.date(2026, 4, 30)
TRICKY_NAME = 'Müller, "Hans"\nJr.'  # comma, quotes and a line break: RFC 4180 quoting
CYRILLIC_NAME = "Иван Петров"


def seed_platform(db) -> None:
    """A small platform as of 2026-03-31, plus a few rows dated after that day."""
    db.insert("referrers", referrer_id="R1", full_name="Anna Schmidt", email="anna@example.com", phone=None,
              payout_iban="DE89 3704 0044 0532 0130 00", birth_date=dt.date(1990, 5, 1), city="Berlin",
              signed_up_at="2026-01-05T08:00:00Z", updated_at=None)
    db.insert("referrers", referrer_id="R2", full_name=TRICKY_NAME, email=None, phone="+49 30 1234",
              payout_iban=None, birth_date=None, city="Köln",
              signed_up_at="2026-01-10T08:00:00Z", updated_at="2026-02-01T10:00:00.123456Z")
    db.insert("referrers", referrer_id="R3", full_name=CYRILLIC_NAME, email=None, phone=None, payout_iban=None,
              birth_date=None, city=None, signed_up_at="2026-01-12T08:00:00Z", updated_at=None)
    for cid, created, updated in (("C1", "2026-02-01T09:00:00Z", None),
                                  ("C2", "2026-02-02T09:00:00Z", "2026-03-20T12:00:00.654321Z"),
                                  ("C3", "2026-02-03T09:00:00Z", None),
                                  ("C9", "2026-04-01T00:00:00Z", None)):  # exactly the end of 2026-03-31
        db.insert("candidates", candidate_id=cid, full_name=f"Candidate {cid}", email=f"{cid.lower()}@example.com",
                  phone=None, birth_date=None, city="Hamburg", profile_url=None, created_at=created,
                  updated_at=updated)
    db.insert("companies", company_id="K1", name="Acme GmbH", country="DE")
    db.insert("companies", company_id="K2", name="Beta, Inc.", country="US")
    db.insert("jobs", job_id="J1", company_id="K1", title="Engineer", bounty_amount=Decimal("1000.00"),
              currency="EUR", guarantee_days=90, posted_at="2026-02-01T00:00:00Z")
    db.insert("jobs", job_id="J2", company_id="K2", title="Designer", bounty_amount=Decimal("1500.50"),
              currency="USD", guarantee_days=60, posted_at="2026-02-02T00:00:00Z")
    referral(db, "F1", "R1", "C1", "J1", "2026-02-10T09:00:00Z")
    referral(db, "F2", "R2", "C2", "J2", "2026-03-01T09:00:00Z")
    referral(db, "F9", "R3", "C3", "J2", "2026-04-02T09:00:00Z")  # after the first as-of day
    db.insert("applications", application_id="A1", candidate_id="C3", job_id="J1",
              applied_at="2026-02-15T09:00:00Z", source="direct")
    db.insert("hires", hire_id="H1", referral_id="F1", candidate_id="C1", job_id="J1",
              hired_at="2026-03-01T10:00:00Z", started_at=dt.date(2026, 3, 2), ended_at=None, end_reason=None,
              updated_at="2026-03-01T10:00:00Z")
    db.insert("payouts", payout_id="P1", hire_id="H1", referral_id="F1", referrer_id="R1",
              amount=Decimal("1000.00"), currency="EUR", eligible_at=dt.date(2026, 5, 31), status="pending",
              released_at=None, updated_at="2026-03-01T10:00:00Z")


def referral(db, rid, referrer, candidate, job, at):
    db.insert("referrals", referral_id=rid, referrer_id=referrer, candidate_id=candidate, job_id=job,
              referred_at=at, channel="linkedin", ip_address="10.0.0.1", device_id=None)


def add_increment(db) -> None:
    """April: a new referral + hire + payout, a late correction of H1, and rows dated after April."""
    referral(db, "F3", "R1", "C2", "J2", "2026-04-03T09:00:00Z")
    db.insert("hires", hire_id="H2", referral_id="F3", candidate_id="C2", job_id="J2",
              hired_at="2026-04-05T09:00:00Z", started_at=dt.date(2026, 4, 6), ended_at=None, end_reason=None,
              updated_at="2026-04-05T09:00:00Z")
    db.insert("payouts", payout_id="P2", hire_id="H2", referral_id="F3", referrer_id="R1",
              amount=Decimal("1500.50"), currency="USD", eligible_at=dt.date(2026, 6, 5), status="pending",
              released_at=None, updated_at="2026-04-05T09:00:00Z")
    db.execute("UPDATE hires SET ended_at = '2026-04-08', end_reason = 'resigned', "
               "updated_at = '2026-04-09T17:00:00Z' WHERE hire_id = 'H1'")
    # after the second as-of day: neither may be pulled by a run as of 2026-04-30
    referral(db, "F10", "R2", "C1", "J2", "2026-05-02T09:00:00Z")
    db.execute("UPDATE payouts SET status = 'void', updated_at = '2026-05-03T09:00:00Z' WHERE payout_id = 'P1'")


def read_csv(landing: Path, table: str) -> list[dict]:
    with open(landing / f"{table}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def ids(landing: Path, table: str) -> set[str]:
    return {r[TABLES[table].key] for r in read_csv(landing, table)}


def pull(db, landing: Path, watermarks, as_of, **kw) -> PullResult:
    return pull_increment(db.uri, landing, watermarks, as_of, itersize=2, **kw)  # itersize 2: many fetches


def duckdb_state() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    run_sql_file(con, "schema/tables.sql")
    run_sql_file(con, "schema/runs.sql")
    return con


def ingest_increment(con, run_id: str, result: PullResult) -> dict:
    """As the ingest step does it: load the increment and save its watermarks in one transaction."""
    con.execute("BEGIN TRANSACTION")
    stats = ingest_landing(con, run_id, result.landing)
    save_watermarks(con, run_id, result.source, result.new_watermarks)
    con.execute("COMMIT")
    return stats


# --- pulls -----------------------------------------------------------------------------------------

def test_initial_pull_reads_everything_up_to_the_as_of_day(platform_db, tmp_path):
    seed_platform(platform_db)
    result = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF)

    assert result.tables == list(LOAD_ORDER)
    assert result.rows == {"referrers": 3, "candidates": 3, "companies": 2, "jobs": 2, "referrals": 2,
                           "applications": 1, "hires": 1, "payouts": 1}
    assert ids(result.landing, "candidates") == {"C1", "C2", "C3"}  # C9 was created at 2026-04-01T00:00Z
    assert ids(result.landing, "referrals") == {"F1", "F2"}  # F9 is dated 2026-04-02
    assert result.new_watermarks == {
        "referrers": "2026-02-01T10:00:00.123456Z",  # R2's updated_at, later than every signed_up_at
        "candidates": "2026-03-20T12:00:00.654321Z",
        "companies": None,  # pulled whole, no watermark
        "jobs": "2026-02-02T00:00:00Z",
        "referrals": "2026-03-01T09:00:00Z",
        "applications": "2026-02-15T09:00:00Z",
        "hires": "2026-03-01T10:00:00Z",
        "payouts": "2026-03-01T10:00:00Z",
    }
    assert result.source == describe_source(platform_db.uri)
    assert sorted(p.name for p in result.landing.iterdir()) == sorted(f"{t}.csv" for t in LOAD_ORDER)


def test_csv_is_the_contract_form(platform_db, tmp_path):
    seed_platform(platform_db)
    landing = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF).landing
    raw = (landing / "referrers.csv").read_bytes().decode("utf-8")
    header, first = raw.split("\r\n")[:2]
    assert header == ",".join(TABLES["referrers"].column_names)
    # empty for NULL, date YYYY-MM-DD, timestamp ISO-8601 UTC with Z
    assert first == ("R1,Anna Schmidt,anna@example.com,,DE89 3704 0044 0532 0130 00,1990-05-01,Berlin,"
                     "2026-01-05T08:00:00Z,")
    assert '"Müller, ""Hans""\nJr."' in raw  # RFC 4180 quoting
    for table in LOAD_ORDER:
        with open(landing / f"{table}.csv", newline="", encoding="utf-8") as f:
            assert next(csv.reader(f)) == TABLES[table].column_names
    jobs = {r["job_id"]: r for r in read_csv(landing, "jobs")}
    assert jobs["J2"]["bounty_amount"] == "1500.50" and jobs["J2"]["guarantee_days"] == "60"
    assert read_csv(landing, "hires")[0]["started_at"] == "2026-03-02"


def test_increment_pulls_only_what_changed_and_advances_watermarks(platform_db, tmp_path):
    seed_platform(platform_db)
    first = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF)
    add_increment(platform_db)
    second = pull(platform_db, tmp_path / "in2", first.new_watermarks, SECOND_AS_OF, overlap=dt.timedelta(0))

    landing = second.landing
    # new or changed in April; plus the one row of each table that sits exactly on its old watermark
    # (pulled again by design: `>=` watermark; the upsert makes it harmless)
    assert ids(landing, "referrals") == {"F9", "F3", "F2"}  # F2 = old watermark; F10 is in May
    assert ids(landing, "hires") == {"H1", "H2"}  # H1: the late correction
    # P1 sat on the old watermark, but the database now holds only its May version: not pulled
    assert ids(landing, "payouts") == {"P2"}
    assert ids(landing, "candidates") == {"C9", "C2"}
    assert ids(landing, "referrers") == {"R2"}
    assert ids(landing, "jobs") == {"J2"}
    assert ids(landing, "applications") == {"A1"}
    assert ids(landing, "companies") == {"K1", "K2"}  # always whole
    assert second.new_watermarks == {
        **first.new_watermarks,
        "candidates": "2026-04-01T00:00:00Z",
        "referrals": "2026-04-03T09:00:00Z",
        "hires": "2026-04-09T17:00:00Z",
        "payouts": "2026-04-05T09:00:00Z",
    }
    # nothing new: the watermarks stay, and only the boundary rows come again
    third = pull(platform_db, tmp_path / "in3", second.new_watermarks, SECOND_AS_OF, overlap=dt.timedelta(0))
    assert third.new_watermarks == second.new_watermarks
    assert ids(third.landing, "hires") == {"H1"} and ids(third.landing, "referrals") == {"F3"}


def test_late_correction_is_pulled(platform_db, tmp_path):
    seed_platform(platform_db)
    first = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF)
    platform_db.execute("UPDATE hires SET ended_at = '2026-04-08', end_reason = 'resigned', "
                        "updated_at = '2026-04-09T17:00:00Z' WHERE hire_id = 'H1'")
    second = pull(platform_db, tmp_path / "in2", first.new_watermarks, SECOND_AS_OF)
    (hire,) = read_csv(second.landing, "hires")
    assert (hire["hire_id"], hire["ended_at"], hire["end_reason"], hire["updated_at"]) == (
        "H1", "2026-04-08", "resigned", "2026-04-09T17:00:00Z")
    assert second.new_watermarks["hires"] == "2026-04-09T17:00:00Z"


def test_row_on_the_watermark_is_not_lost(platform_db, tmp_path):
    """A row committed after a pull with the same timestamp as the newest row it read."""
    seed_platform(platform_db)
    first = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF)
    assert first.new_watermarks["candidates"] == "2026-03-20T12:00:00.654321Z"
    platform_db.insert("candidates", candidate_id="C5", full_name="Late Commit", email=None, phone=None,
                       birth_date=None, city=None, profile_url=None, created_at="2026-03-15T09:00:00Z",
                       updated_at="2026-03-20T12:00:00.654321Z")
    second = pull(platform_db, tmp_path / "in2", first.new_watermarks, FIRST_AS_OF, overlap=dt.timedelta(0))
    assert "C5" in ids(second.landing, "candidates")


def test_overlap_catches_a_late_commit_dated_before_the_watermark(platform_db, tmp_path):
    seed_platform(platform_db)
    first = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF)
    # a long transaction's now(): 5 minutes before the newest row the first pull saw, committed later
    platform_db.insert("candidates", candidate_id="C6", full_name="Long Transaction", email=None, phone=None,
                       birth_date=None, city=None, profile_url=None, created_at="2026-03-15T09:00:00Z",
                       updated_at="2026-03-20T11:55:00Z")
    with_overlap = pull(platform_db, tmp_path / "in2", first.new_watermarks, FIRST_AS_OF)  # default 15 min
    assert "C6" in ids(with_overlap.landing, "candidates")
    # the watermark does not move back to the overlapped row
    assert with_overlap.new_watermarks["candidates"] == "2026-03-20T12:00:00.654321Z"
    without = pull(platform_db, tmp_path / "in3", first.new_watermarks, FIRST_AS_OF, overlap=dt.timedelta(0))
    assert "C6" not in ids(without.landing, "candidates")


def test_nothing_after_the_as_of_day_is_pulled_and_a_pull_is_reproducible(platform_db, tmp_path):
    seed_platform(platform_db)
    before = pull(platform_db, tmp_path / "a", {}, FIRST_AS_OF)
    # the platform moves on: new rows, all dated after the as-of day
    referral(platform_db, "F3", "R1", "C2", "J2", "2026-04-03T09:00:00Z")
    platform_db.insert("hires", hire_id="H2", referral_id="F3", candidate_id="C2", job_id="J2",
                       hired_at="2026-04-05T09:00:00Z", started_at=dt.date(2026, 4, 6), ended_at=None,
                       end_reason=None, updated_at="2026-04-05T09:00:00Z")
    again = pull(platform_db, tmp_path / "b", {}, FIRST_AS_OF)
    for table in LOAD_ORDER:
        assert (again.landing / f"{table}.csv").read_bytes() == (before.landing / f"{table}.csv").read_bytes(), table
    assert again.new_watermarks == before.new_watermarks
    for table, wm in again.new_watermarks.items():
        assert wm is None or wm < "2026-04-01T00:00:00Z", table


def test_a_row_changed_after_the_as_of_day_waits_for_a_later_run(platform_db, tmp_path):
    """The database holds only a row's newest version: a correction dated after the as-of day is
    neither pulled nor replaced by an older version; the first run whose as-of day covers it gets it."""
    seed_platform(platform_db)
    platform_db.execute("UPDATE hires SET ended_at = '2026-04-08', end_reason = 'resigned', "
                        "updated_at = '2026-04-09T17:00:00Z' WHERE hire_id = 'H1'")
    early = pull(platform_db, tmp_path / "a", {}, FIRST_AS_OF)
    assert ids(early.landing, "hires") == set()
    assert early.new_watermarks["hires"] is None
    later = pull(platform_db, tmp_path / "b", early.new_watermarks, SECOND_AS_OF)
    assert [(r["hire_id"], r["ended_at"]) for r in read_csv(later.landing, "hires")] == [("H1", "2026-04-08")]


def test_payout_without_updated_at_is_pulled_every_time(platform_db, tmp_path):
    """payouts have no creation column: a NULL updated_at cannot be placed in time, so it is never skipped."""
    seed_platform(platform_db)
    first = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF)
    platform_db.execute("UPDATE payouts SET updated_at = NULL WHERE payout_id = 'P1'")
    wm = {**first.new_watermarks, "payouts": "2026-03-25T00:00:00Z"}
    second = pull(platform_db, tmp_path / "in2", wm, FIRST_AS_OF)
    assert ids(second.landing, "payouts") == {"P1"}
    assert second.new_watermarks["payouts"] == "2026-03-25T00:00:00Z"


def test_large_table_streams_in_batches(platform_db, tmp_path):
    seed_platform(platform_db)
    platform_db.execute(
        "INSERT INTO referrals SELECT 'G' || g, 'R1', 'C1', 'J1', "
        "timestamptz '2026-03-05 00:00:00+00' + g * interval '1 second', 'email', NULL, NULL "
        "FROM generate_series(1, 5000) g")
    result = pull_increment(platform_db.uri, tmp_path / "in", {}, FIRST_AS_OF, itersize=333)
    assert result.rows["referrals"] == 5002
    with open(result.landing / "referrals.csv", newline="", encoding="utf-8") as f:
        assert sum(1 for _ in csv.reader(f)) == 5003
    assert result.new_watermarks["referrals"] == "2026-03-05T01:23:20Z"


# --- end to end through ingest ---------------------------------------------------------------------

def test_end_to_end_initial_and_increment_through_ingest(platform_db, tmp_path):
    seed_platform(platform_db)
    con = duckdb_state()
    source = describe_source(platform_db.uri)

    first = pull(platform_db, tmp_path / "in1", read_watermarks(con, source), FIRST_AS_OF)
    stats = ingest_increment(con, "20260331-001", first)
    assert all(s["rows_rejected"] == 0 and s["problem"] is None for s in stats.values()), stats
    assert {t: s["rows_loaded"] for t, s in stats.items()} == first.rows
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    assert read_watermarks(con, source) == first.new_watermarks

    add_increment(platform_db)
    second = pull(platform_db, tmp_path / "in2", read_watermarks(con, source), SECOND_AS_OF)
    stats = ingest_increment(con, "20260430-001", second)
    assert all(s["rows_rejected"] == 0 and s["problem"] is None for s in stats.values()), stats
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    assert read_watermarks(con, source) == second.new_watermarks

    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    assert q("SELECT hire_id, ended_at, end_reason, updated_at FROM hires ORDER BY hire_id") == [
        ("H1", dt.date(2026, 4, 8), "resigned", dt.datetime(2026, 4, 9, 17, 0)),
        ("H2", None, None, dt.datetime(2026, 4, 5, 9, 0)),
    ]
    assert q("SELECT referral_id FROM referrals ORDER BY referral_id") == [("F1",), ("F2",), ("F3",), ("F9",)]
    assert q("SELECT payout_id, amount, status FROM payouts ORDER BY payout_id") == [
        ("P1", Decimal("1000.00"), "pending"), ("P2", Decimal("1500.50"), "pending")]
    assert q("SELECT count(*) FROM candidates") == [(4,)]
    assert q("SELECT count(*) FROM companies") == [(2,)]
    assert q("SELECT full_name, updated_at FROM referrers WHERE referrer_id = 'R2'") == [
        (TRICKY_NAME, dt.datetime(2026, 2, 1, 10, 0, 0, 123456))]
    assert q("SELECT full_name, email FROM referrers WHERE referrer_id = 'R3'") == [(CYRILLIC_NAME, None)]


def test_failed_ingest_does_not_advance_watermarks(platform_db, tmp_path):
    seed_platform(platform_db)
    con = duckdb_state()
    first = pull(platform_db, tmp_path / "in1", {}, FIRST_AS_OF)
    ingest_increment(con, "20260331-001", first)
    add_increment(platform_db)
    second = pull(platform_db, tmp_path / "in2", read_watermarks(con, first.source), SECOND_AS_OF)
    con.execute("BEGIN TRANSACTION")
    ingest_landing(con, "20260430-001", second.landing)
    save_watermarks(con, "20260430-001", second.source, second.new_watermarks)
    con.execute("ROLLBACK")  # a later step of the ingest failed
    assert read_watermarks(con, first.source) == first.new_watermarks
    assert read_watermarks(con) == first.new_watermarks


def test_watermarks_never_move_back_and_are_kept_per_source(tmp_path):
    con = duckdb.connect()
    assert read_watermarks(con) == dict.fromkeys(LOAD_ORDER)  # creates the table
    save_watermarks(con, "r1", "postgresql://u:secret@h/db", {"hires": "2026-04-09T17:00:00Z", "companies": None})
    save_watermarks(con, "r2", "postgresql://u:secret@h/db", {"hires": "2026-03-01T00:00:00+00:00"})
    assert read_watermarks(con, "postgresql://u@h/db")["hires"] == "2026-04-09T17:00:00Z"
    assert read_watermarks(con, "postgresql://u@h/other")["hires"] is None
    assert "secret" not in str(con.execute("SELECT * FROM source_watermarks").fetchall())
    with pytest.raises(BountyguardError, match="not a contract table"):
        save_watermarks(con, "r3", "postgresql://u@h/db", {"hirez": "2026-04-09T17:00:00Z"})


# --- errors and secrets ----------------------------------------------------------------------------

def test_connection_error_is_clear_and_hides_the_password(tmp_path):
    uri = "postgresql://postgres:hunter2@127.0.0.1:1/platform_db"
    with pytest.raises(BountyguardError) as err:
        pull_increment(uri, tmp_path / "in", {}, FIRST_AS_OF)
    message = str(err.value)
    assert "hunter2" not in message
    assert "127.0.0.1" in message and "platform_db" in message and "postgres:***@" in message
    assert not (tmp_path / "in").exists() or not any((tmp_path / "in").iterdir())


def test_unknown_database_names_it(pg_database, tmp_path):
    uri = pg_database.uri.replace(pg_database.name, pg_database.name + "_missing")
    with pytest.raises(BountyguardError, match=f"database {pg_database.name}_missing"):
        pull_increment(uri, tmp_path / "in", {}, FIRST_AS_OF)


def test_mask_uri():
    assert mask_uri("postgresql://postgres:s3cr%40t@db.example:5432/platform") == \
        "postgresql://postgres:***@db.example:5432/platform"
    assert mask_uri("postgresql://postgres@db/platform") == "postgresql://postgres@db/platform"
    assert mask_uri("host=db user=u password='a b' dbname=x") == "host=db user=u password=*** dbname=x"
    assert mask_uri("postgresql://db/x?user=u&password=pw") == "postgresql://db/x?user=u&password=***"
    assert describe_source("postgresql://postgres:pw@db.example:5432/platform") == \
        "postgresql://postgres:***@db.example:5432/platform"


def test_missing_column_is_named(platform_db, tmp_path):
    seed_platform(platform_db)
    platform_db.execute("ALTER TABLE hires DROP COLUMN end_reason")
    with pytest.raises(BountyguardError, match="'hires' lacks column.*end_reason"):
        pull_increment(platform_db.uri, tmp_path / "in", {}, FIRST_AS_OF)


def test_failed_read_leaves_no_half_folder(platform_db, tmp_path):
    seed_platform(platform_db)
    # a platform that keeps ended_at as free text: the read of hires fails after earlier tables were written
    platform_db.execute("ALTER TABLE hires ALTER COLUMN ended_at TYPE text")
    with pytest.raises(BountyguardError, match="reading table 'hires' failed"):
        pull_increment(platform_db.uri, tmp_path / "in", {}, FIRST_AS_OF)
    assert list((tmp_path / "in").iterdir()) == []


def test_optional_applications_table_may_be_absent(platform_db, tmp_path):
    seed_platform(platform_db)
    platform_db.execute("DROP TABLE applications")
    result = pull_increment(platform_db.uri, tmp_path / "in", {}, FIRST_AS_OF)
    assert result.skipped == ["applications"] and "applications" not in result.tables
    assert not (tmp_path / "in" / "applications.csv").exists()
    stats = ingest_landing(duckdb_state(), "r1", result.landing)
    assert all(s["problem"] is None and s["rows_rejected"] == 0 for s in stats.values())


def test_airflow_connection_gives_the_source_uri(monkeypatch):
    pytest.importorskip("airflow.sdk")
    from psycopg.conninfo import conninfo_to_dict

    from bountyguard.source_postgres import airflow_connection_uri

    monkeypatch.setenv("AIRFLOW_CONN_BG_TEST_PLATFORM",
                       '{"conn_type": "postgres", "host": "db.example", "port": 5433, "login": "bg", '
                       '"password": "p@ss:/word", "schema": "platform", "extra": {"sslmode": "require"}}')
    uri = airflow_connection_uri("bg_test_platform")
    info = conninfo_to_dict(uri)
    assert (info["host"], info["port"], info["user"], info["password"], info["dbname"], info["sslmode"]) == (
        "db.example", "5433", "bg", "p@ss:/word", "platform", "require")
    assert describe_source(uri) == "postgresql://bg:***@db.example:5433/platform"


def test_cli_run_from_the_database_pulls_increments_and_screens(platform_db, tmp_path, capsys):
    """`bountyguard run --source URI`: the pull, the ingest and the watermarks through the CLI."""
    from bountyguard.cli import main

    seed_platform(platform_db)
    db = tmp_path / "bg.duckdb"
    code = main(["run", "--source", platform_db.uri, "--db", str(db), "--as-of", str(FIRST_AS_OF)])
    out, err = capsys.readouterr()
    assert code in (0, 3), err
    assert "Traceback" not in out + err
    add_increment(platform_db)
    main(["run", "--source", platform_db.uri, "--db", str(db), "--as-of", str(SECOND_AS_OF)])
    capsys.readouterr()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT ended_at FROM hires WHERE hire_id = 'H1'").fetchone() == (dt.date(2026, 4, 8),)
        # the second run pulled the increment only (plus the rows on the watermark)
        second_run = con.execute("SELECT max(run_id) FROM runs").fetchone()[0]
        rows_in = dict(con.execute("SELECT table_name, rows_in FROM load_stats WHERE run_id = ?", [second_run]).fetchall())
        first_run = con.execute("SELECT min(run_id) FROM runs").fetchone()[0]
        first_in = dict(con.execute("SELECT table_name, rows_in FROM load_stats WHERE run_id = ?", [first_run]).fetchall())
        assert rows_in["referrals"] < first_in["referrals"] + 2
        assert con.execute("SELECT count(*) FROM source_watermarks").fetchone()[0] > 0
    finally:
        con.close()
