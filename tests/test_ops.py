"""Ops engineers' tools without a scheduler: run metrics (table, report.json, `bountyguard runs`),
the unusual-results comparison, and the alert notifier's two routes (log file, webhook connection).
The same things under a real scheduler with Celery: tests/test_real_scheduler.py."""
from __future__ import annotations

import csv
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bountyguard import pipeline, run_metrics
from bountyguard.cli import main
from bountyguard.db import connect
from tests.builders import Platform

AS_OF = "2026-06-30"


def small_platform() -> Platform:
    p = Platform()
    for i in range(1, 4):
        p.job(f"J{i}", f"C{i}", bounty="1000.00")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")                       # honest, due: release
    p.referred_hire("2", "R2", "K2", "J2", started="2026-01-05", ended="2026-02-01")    # early exit: void
    p.referred_hire("4", "R4", "K4", "J1", started="2025-01-06", ended="2025-02-01", payout_status="released")
    return p


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    root = tmp_path_factory.mktemp("ops")
    landing = small_platform().write_landing(root / "landing")
    db = root / "bg.duckdb"
    summary = pipeline.run(landing, db, AS_OF)
    return {"db": db, "summary": summary, "landing": landing}


def test_a_run_records_its_metrics_in_the_table_and_the_report(screened):
    summary = screened["summary"]
    assert summary["status"] == "clean"
    con = connect(screened["db"], read_only=True)
    try:
        metrics = run_metrics.read(con, summary["run_id"])
        payout_amounts = dict(con.execute("SELECT payout_id, amount::DOUBLE FROM payouts").fetchall())
        decided = con.execute("SELECT payout_id, decision FROM payout_decisions WHERE run_id = ?",
                              [summary["run_id"]]).fetchall()
    finally:
        con.close()
    # every number agrees with the run's own tables and summary
    assert metrics["rows_in"] == {t: v["rows_in"] for t, v in summary["tables"].items()}
    assert metrics["rows_rejected"] == {t: v["rows_rejected"] for t, v in summary["tables"].items()}
    assert metrics["decisions"] == {d: n for d, n in summary["decision_counts"].items() if n}
    assert metrics["flags"] == {p: n for p, n in summary["flag_counts"].items() if n}
    assert metrics["validation_success"] == {"all": 1}
    released = sum(payout_amounts[p] for p, d in decided if d == "release")
    clawed = sum(payout_amounts[p] for p, d in decided if d == "clawback")
    assert released > 0 and clawed > 0
    assert sum(metrics["money_released"].values()) == released
    assert sum(metrics.get("money_clawed_back", {}).values()) == clawed
    assert set(metrics["step_seconds"]) == {"ingest", "validate", "detect", "decide", "publish"}
    assert all(v > 0 for v in metrics["step_peak_memory_mb"].values())
    report = json.loads(open(summary["report_path"], encoding="utf-8").read())
    assert report["run_metrics"]["decisions"] == metrics["decisions"]
    assert report["run_metrics"]["money_released"] == metrics["money_released"]
    # the report's own keys are untouched, and the wall times stay out of its digest
    assert report["decision_counts"] == summary["decision_counts"]


def test_run_metrics_stay_out_of_the_digest(screened, tmp_path):
    """Same inputs, configuration and as-of date: the same digest, though the step times differ."""
    again = pipeline.run(screened["landing"], tmp_path / "again.duckdb", AS_OF)
    assert again["report_sha256"] == screened["summary"]["report_sha256"]


def test_runs_list_and_show_print_the_metrics(screened, capsys):
    run_id = screened["summary"]["run_id"]
    assert main(["runs", "list", "--db", str(screened["db"])]) == 0
    listing = capsys.readouterr().out
    assert run_id in listing and "clean" in listing and "1,000.00 EUR" in listing
    assert main(["runs", "show", run_id, "--db", str(screened["db"])]) == 0
    shown = capsys.readouterr().out
    flags = ", ".join(f"{p} {n}" for p, n in sorted(screened["summary"]["flag_counts"].items()) if n)
    for part in ("validation: passed", "money released: 1,000.00 EUR", f"flags: {flags}", "detect", "referrals"):
        assert part in shown, (part, shown)
    assert main(["runs", "show", run_id, "--db", str(screened["db"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["decisions"]["release"] == 1
    assert main(["runs", "show", "19990101-001", "--db", str(screened["db"])]) != 0
    assert "not in" in capsys.readouterr().err


def test_unusual_results_compare_with_the_history_of_clean_runs(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = connect(db)
    try:
        pipeline._ensure_schema(con)
        for i, flags in enumerate([4, 5, 6, 40], start=1):
            con.execute("INSERT INTO runs VALUES (?, DATE '2026-06-30', NULL, '{}', 'x', "
                        "TIMESTAMP '2026-07-01 00:00:00' + ? * INTERVAL 1 HOUR, NULL, 'published', 'clean')",
                        [f"r{i}", i])
            con.execute("INSERT INTO run_metrics VALUES (?, 'flags', 'job_hopping', ?), (?, 'money_held', 'EUR', 100)",
                        [f"r{i}", flags, f"r{i}"])
        settings = {"unusual_factor": 3.0, "history_runs": 30, "min_history_runs": 3}
        found = run_metrics.unusual(con, "r4", settings)
        assert found == {"flags": {"this_run": 40, "median_of_history": 5, "runs_compared": 3}}
        assert run_metrics.unusual(con, "r3", settings) == {}  # only two earlier runs
        assert run_metrics.unusual(con, "r4", {**settings, "unusual_factor": 10.0}) == {}
    finally:
        con.close()


# --- alerts ----------------------------------------------------------------------------------------


class FakeTI:
    dag_id, run_id, task_id, try_number = "referral_screening", "scheduled__x", "validate", 1


class DataProblem(Exception):
    alert_kind = "validation_failed"
    alert_details = {"failed_checks": [{"check": "reject_rate", "table": "jobs", "observed": 30}]}


def test_alert_goes_to_the_log_file_without_a_connection(tmp_path, monkeypatch):
    from bountyguard.alerts import Alert

    log_file = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("BOUNTYGUARD_ALERT_LOG", str(log_file))
    monkeypatch.delenv("AIRFLOW_CONN_BOUNTYGUARD_ALERTS", raising=False)
    Alert()({"ti": FakeTI(), "exception": DataProblem("jobs.csv line 3: Erika Mustermann, DE89370400440532013000")})
    [alert] = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert alert["kind"] == "validation_failed"
    assert (alert["dag_id"], alert["task_id"], alert["error_type"]) == ("referral_screening", "validate", "DataProblem")
    assert alert["details"]["failed_checks"] == DataProblem.alert_details["failed_checks"]
    text = log_file.read_text(encoding="utf-8")
    assert "Mustermann" not in text and "DE89" not in text  # the exception's message never leaves the task log


def test_alert_is_posted_to_the_webhook_connection(monkeypatch):
    from bountyguard.alerts import Alert

    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        monkeypatch.setenv("AIRFLOW_CONN_BOUNTYGUARD_ALERTS", json.dumps({"conn_type": "http", "host": url}))
        Alert("unusual_results", details={"flags": {"this_run": 40}})({"ti": FakeTI()})
    finally:
        server.shutdown()
        server.server_close()
    assert [(a["kind"], a["details"]) for a in received] == [("unusual_results", {"flags": {"this_run": 40}})]


def test_an_unknown_alert_kind_is_refused():
    from bountyguard.alerts import Alert

    with pytest.raises(ValueError):
        Alert("something_else")


# --- backfills and the report a payout run may pay ------------------------------------------------------


def test_a_backfill_never_moves_latest_back_and_its_payout_run_pays_nothing(screened, tmp_path):
    import shutil

    from bountyguard import release_guard
    from bountyguard.errors import BountyguardError
    from bountyguard.report import latest_published

    db = tmp_path / "bg.duckdb"
    shutil.copy(screened["db"], db)
    shutil.copytree(screened["db"].parent / "bg.published", tmp_path / "bg.published")
    today = screened["summary"]
    backfill = pipeline.run(screened["landing"], db, "2026-06-29")
    assert backfill["status"] == "clean"
    assert latest_published(db).name == today["run_id"]  # LATEST never moves back
    why = release_guard.reason_not_to_pay(db, [{"report_sha256": backfill["report_sha256"],
                                                "run_id": backfill["run_id"]}], None)
    assert why and "backfill never pays" in why and today["run_id"] in why
    assert release_guard.reason_not_to_pay(db, [{"report_sha256": today["report_sha256"]}], None) is None
    # started by hand: the newest report must screen the day the run pays for
    import datetime as dt

    assert release_guard.reason_not_to_pay(db, [], dt.date(2026, 6, 30)) is None
    with pytest.raises(BountyguardError, match="not paid as if it were today's"):
        release_guard.reason_not_to_pay(db, [], dt.date(2026, 7, 1))


def test_a_backfilled_day_gets_the_decisions_a_run_on_that_day_gave(screened, tmp_path):
    """Every step reads the data as of its run date: screening 2026-06-29 after 2026-06-30 decides
    what a run on 2026-06-29 itself decided."""
    on_the_day = pipeline.run(screened["landing"], tmp_path / "on_the_day.duckdb", "2026-06-29")
    import shutil

    db = tmp_path / "later.duckdb"
    shutil.copy(screened["db"], db)
    backfill = pipeline.run(screened["landing"], db, "2026-06-29")

    def decisions(summary):
        with open(Path(summary["published_dir"]) / "payout_decisions.csv", newline="", encoding="utf-8") as f:
            return sorted((r["payout_id"], r["decision"], r["reasons"]) for r in csv.DictReader(f))

    assert decisions(backfill) == decisions(on_the_day)
    assert backfill["report_sha256"] == on_the_day["report_sha256"]


def test_the_screening_dag_carries_the_clean_report_deadline(monkeypatch, tmp_path):
    import runpy
    from datetime import timedelta

    from bountyguard.airflow_env import DAGS_FOLDER

    config = tmp_path / "c.toml"
    config.write_text("[deadline]\nclean_report_due_hours = 4\n", encoding="utf-8")
    monkeypatch.setenv("BOUNTYGUARD_CONFIG", str(config))
    monkeypatch.setenv("BOUNTYGUARD_DEADLINE_ALERT", "on")
    module = runpy.run_path(str(DAGS_FOLDER / "referral_screening.py"))
    alert = module["clean_report_deadline"]()
    assert alert.interval == timedelta(hours=24 + 4)  # day D's report is due D+1 04:00 UTC
    assert type(alert.reference).__name__ == "DagRunLogicalDateDeadline"
    assert alert.callback.path == "bountyguard.alerts.Alert"
    assert alert.callback.kwargs["kind"] == "deadline_missed"
    monkeypatch.setenv("BOUNTYGUARD_DEADLINE_ALERT", "off")
    assert module["clean_report_deadline"]() is None
