"""The Airflow DAGs: they parse, are wired as designed, and run end to end in-process.

Everything here runs against a throwaway AIRFLOW_HOME (SQLite) made once per session. Nothing at
module level imports airflow: the home must be set first (see tests/airflow_support.py).
"""
from __future__ import annotations

import csv
import os
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.pg_support import pg_database, platform_db  # noqa: F401  (fixtures)
from tests.airflow_support import (
    PAYOUTS,
    SCREENING,
    SCREENING_TASKS,
    asset_events,
    dag_bag,
    fresh_dag,
    pool_slots,
    run_dag,
    use_airflow_home,
    utc,
)

pytestmark = pytest.mark.airflow

AS_OF = "2026-06-30"


@pytest.fixture(scope="session")
def airflow_home():
    # the session's throwaway home (tests/conftest.py): whichever test imports airflow first, it reads
    # this one, so the DAG tests do not depend on running before the others
    home = Path(os.environ["AIRFLOW_HOME"])
    env, seconds = use_airflow_home(home)
    print(f"\nAirflow home {home} ready in {seconds:.1f} s (db migrate + pool)")
    return env


@pytest.fixture(scope="session")
def bag(airflow_home):
    return dag_bag()


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    from bountyguard.evaluation.generator import generate

    out = tmp_path_factory.mktemp("generated")
    generate(out, seed=7, scale=0.2, as_of=date.fromisoformat(AS_OF))
    return out


@pytest.fixture(scope="session")
def screened(airflow_home, generated):
    """referral_screening run by dag.test() for 2026-06-30 on generated data, then payout_release."""
    db = generated / "work" / "bountyguard.duckdb"
    conf = {"landing": str(generated / "landing"), "db": str(db), "config": None}
    dr, states, seconds = run_dag(fresh_dag(SCREENING, retries=0), logical_date=utc(AS_OF), conf=conf)
    print(f"\nreferral_screening: {dr.state} in {seconds:.1f} s {states}")
    pay_dr, pay_states, pay_seconds = run_dag(fresh_dag(PAYOUTS, retries=0), conf={"db": str(db), "pays_for": AS_OF})
    print(f"payout_release: {pay_dr.state} in {pay_seconds:.1f} s {pay_states}")
    return {"db": db, "run": dr, "states": states, "pay_run": pay_dr, "pay_states": pay_states}


# --- parsing and structure -----------------------------------------------------------------------


def test_dags_folder_imports_without_errors(bag):
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {SCREENING, PAYOUTS}


def test_screening_dag_structure(bag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = bag.get_dag(SCREENING)
    assert [t.task_id for t in dag.topological_sort()] == SCREENING_TASKS
    for upstream, downstream in zip(SCREENING_TASKS, SCREENING_TASKS[1:]):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.doc_md and "bountyguard" in dag.tags
    assert set(dag.params.keys()) >= {"landing", "db", "config"}
    for t in dag.tasks:
        assert t.pool == "duckdb_writer", t.task_id
        assert t.retries >= 1, t.task_id
        assert t.on_failure_callback, t.task_id


def test_the_report_asset_links_the_two_dags(bag):
    from bountyguard.assets import BOUNTYGUARD_REPORT

    screening, payouts = bag.get_dag(SCREENING), bag.get_dag(PAYOUTS)
    producers = [t.task_id for t in screening.tasks if BOUNTYGUARD_REPORT in t.outlets]
    assert producers == ["publish"]
    # schedule=[asset] is the condition "all of [asset]"
    assert list(payouts.timetable.asset_condition.objects) == [BOUNTYGUARD_REPORT]
    assert [t.task_id for t in payouts.tasks] == ["release"]
    assert payouts.get_task("release").retries >= 1


def test_pool_exists_with_one_slot(airflow_home):
    assert pool_slots("duckdb_writer") == 1


def test_as_of_is_the_logical_date_or_the_last_day_of_the_interval(bag):
    import importlib.util

    from bountyguard.airflow_env import DAGS_FOLDER

    spec = importlib.util.spec_from_file_location("_screening_dag", DAGS_FOLDER / "referral_screening.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    day = datetime(2026, 6, 30, tzinfo=timezone.utc)
    # scheduled: interval [30 June, 1 July), logical date = its start
    assert module.as_of_date(day, day, day + timedelta(days=1)) == AS_OF
    # `airflow dags test referral_screening 2026-06-30`: logical date 30 June, interval [29 June, 30 June)
    assert module.as_of_date(day, day - timedelta(days=1), day) == AS_OF
    # manual run without a logical date: the last day inside the interval
    assert module.as_of_date(None, day, day + timedelta(days=1)) == AS_OF
    assert module.as_of_date(day, day, day, override="2026-05-31") == "2026-05-31"


# --- running them --------------------------------------------------------------------------------


def test_screening_run_publishes_a_clean_report(screened):
    from bountyguard.report import latest_published, load_verified_report

    assert screened["run"].state == "success", screened["states"]
    assert set(screened["states"].values()) == {"success"}
    run_dir = latest_published(screened["db"])
    assert run_dir is not None and (run_dir / "report.json").is_file()
    report, decisions, _ = load_verified_report(run_dir)
    assert report["status"] == "clean"
    assert str(report["as_of"]) == AS_OF
    assert any(d["decision"] == "release" for d in decisions)
    events = asset_events("bountyguard_report")
    assert events and events[-1]["report_sha256"] == report["report_sha256"]
    assert events[-1]["status"] == "clean"


def test_payout_run_pays_exactly_the_release_decisions(screened, generated, tmp_path):
    from bountyguard.ledger import export_ledger_csv
    from bountyguard.report import latest_published, load_verified_report

    assert screened["pay_run"].state == "success", screened["pay_states"]
    report, decisions, _ = load_verified_report(latest_published(screened["db"]))
    with open(export_ledger_csv(screened["db"], tmp_path / "ledger.csv"), newline="", encoding="utf-8") as f:
        ledger = list(csv.DictReader(f))
    assert sorted(r["payout_id"] for r in ledger) == sorted(
        d["payout_id"] for d in decisions if d["decision"] == "release"
    )
    assert {r["report_sha256"] for r in ledger} == {report["report_sha256"]}
    # none of the generator's abusive payouts is paid
    with open(generated / "truth" / "payouts.csv", newline="", encoding="utf-8") as f:
        abusive = {r["payout_id"] for r in csv.DictReader(f) if r["blocked"] == "true"}
    assert abusive
    assert not abusive & {r["payout_id"] for r in ledger}


def test_no_personal_data_in_xcoms_or_task_logs(screened, generated, airflow_home, tmp_path):
    """`airflow dags test` of both DAGs (a subprocess: what it prints is the task logs, which dag.test
    writes nowhere else), then: what every task of every run in the metadata database returned (the
    XCom table) and every task log (that output and the home's log folder) holds none of the landing
    data's e-mails, phones or IBANs, raw or normalised."""
    import subprocess
    import sys

    from sqlalchemy import select

    from airflow.models.xcom import XComModel
    from airflow.settings import Session

    from tests.test_personal_data import personal_values

    values = personal_values(generated / "landing")
    assert len(values) > 100
    db = tmp_path / "bountyguard.duckdb"
    logs = tmp_path / "task_logs.txt"
    with open(logs, "w", encoding="utf-8") as out:
        for command in (
            ["referral_screening", "2026-07-01", "-c",
             json.dumps({"landing": str(generated / "landing"), "db": str(db), "config": None})],
            ["payout_release", "-c", json.dumps({"db": str(db), "pays_for": "2026-07-01"})],
        ):
            done = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", *command], stdout=out,
                                  stderr=subprocess.STDOUT, env=os.environ | airflow_home, timeout=900)
            assert done.returncode == 0, logs.read_text(encoding="utf-8")[-3000:]
    with Session() as session:
        xcoms = [(x.dag_id, x.run_id, x.task_id, json.dumps(x.value, default=str))
                 for x in session.scalars(select(XComModel).where(XComModel.dag_id.in_([SCREENING, PAYOUTS])))]
    returned = {(dag_id, task_id) for dag_id, _, task_id, _ in xcoms}
    assert {(SCREENING, "start_run"), (SCREENING, "publish"), (PAYOUTS, "release")} <= returned
    assert len({run_id for _, run_id, _, _ in xcoms}) >= 4  # the fixture's runs and these
    for dag_id, run_id, task_id, value in xcoms:
        found = sorted(v for v in values if v in value)
        assert not found, f"XCom of {dag_id}.{task_id} ({run_id}) holds personal data, e.g. {found[0][:4]}..."

    text = logs.read_text(encoding="utf-8")
    assert "paid payout" in text and "[DAG TEST] end task task_id=publish" in text  # the tasks did log
    home_logs = [p for p in (Path(airflow_home["AIRFLOW_HOME"]) / "logs").rglob("*") if p.is_file()]
    for path in [logs, *home_logs]:
        found = sorted(v for v in values if v in path.read_text(encoding="utf-8", errors="replace"))
        assert not found, f"{path}: holds personal data, e.g. {found[0][:4]}..."


def test_failed_validation_fails_the_run_and_triggers_no_payout(airflow_home, generated, tmp_path):
    """Too many unreadable rows: validate fails without retry, nothing downstream runs, the
    published report is not_clean and no asset event is emitted."""
    from bountyguard.report import latest_published

    landing = tmp_path / "landing"
    landing.mkdir()
    for f in (generated / "landing").iterdir():
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        if f.name == "jobs.csv":  # 10 % of the jobs get an amount that is not a number
            rows = list(csv.reader(lines))
            col = rows[0].index("bounty_amount")
            for row in rows[1::10]:
                row[col] = "lots"
            with open(landing / f.name, "w", newline="", encoding="utf-8") as out:
                csv.writer(out).writerows(rows)
        else:
            (landing / f.name).write_text("".join(lines), encoding="utf-8")
    db = tmp_path / "work" / "bountyguard.duckdb"
    before = len(asset_events("bountyguard_report"))
    dag = fresh_dag(SCREENING)  # production retries: the validation failure must not be retried
    dr, states, _ = run_dag(dag, logical_date=utc("2026-06-29"),
                            conf={"landing": str(landing), "db": str(db), "config": None})
    assert dr.state == "failed"
    assert states["start_run"] == states["ingest"] == "success"
    assert states["validate"] == "failed"
    assert {states[t] for t in ("detect", "decide", "publish")} == {"upstream_failed"}
    report = json.loads((latest_published(db) / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "not_clean"
    assert len(asset_events("bountyguard_report")) == before


def test_screening_pulls_from_the_platform_database_through_an_airflow_connection(airflow_home, platform_db,
                                                                                  tmp_path, monkeypatch):
    """`source_conn_id` names an Airflow connection: the pull task fetches the platform's rows from
    PostgreSQL into the run's landing folder and the run screens them."""
    import duckdb

    from tests.test_source_postgres import FIRST_AS_OF, seed_platform

    seed_platform(platform_db)
    monkeypatch.setenv("AIRFLOW_CONN_PLATFORM_DB", platform_db.uri)
    db = tmp_path / "work" / "bountyguard.duckdb"
    dag = fresh_dag(SCREENING, retries=0)
    dr, states, _ = run_dag(dag, logical_date=utc(str(FIRST_AS_OF)),
                            conf={"landing": str(tmp_path / "unused"), "db": str(db), "config": None,
                                  "source_conn_id": "platform_db"})
    assert states["pull"] == "success" and states["ingest"] == "success", states
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM referrals").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM source_watermarks").fetchone()[0] > 0
        landing = con.execute("SELECT landing FROM runs").fetchone()[0]
    finally:
        con.close()
    assert landing.startswith(str(db.parent / "bountyguard.pulls"))


def test_an_error_after_validation_publishes_a_failed_report_and_pays_nothing(airflow_home, generated, tmp_path):
    """A step that breaks for good (here: a configuration the anomaly detector refuses) fails the
    run; the failure callback publishes a `failed` report holding every due payout, and no asset
    event triggers a payout run."""
    from bountyguard.report import latest_published

    config = tmp_path / "broken.toml"
    config.write_text('[anomaly]\nmodels = ["no_such_model"]\n', encoding="utf-8")
    db = tmp_path / "work" / "bountyguard.duckdb"
    before = len(asset_events("bountyguard_report"))
    dr, states, _ = run_dag(fresh_dag(SCREENING, retries=0), logical_date=utc(AS_OF),
                            conf={"landing": str(generated / "landing"), "db": str(db), "config": str(config)})
    assert dr.state == "failed"
    assert states["validate"] == "success" and states["detect"] == "failed"
    assert {states[t] for t in ("decide", "publish")} == {"upstream_failed"}
    run_dir = latest_published(db)
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "failed"
    with open(run_dir / "payout_decisions.csv", newline="", encoding="utf-8") as f:
        decisions = [r["decision"] for r in csv.DictReader(f)]
    assert decisions and "release" not in decisions
    assert len(asset_events("bountyguard_report")) == before


@pytest.mark.parametrize("damage", ["release_batch", "decisions", "ledger"])
def test_a_tampered_report_or_unreadable_ledger_fails_the_payout_run_with_an_alert(
        screened, tmp_path, monkeypatch, damage):
    """The payout job refuses a release batch or decision file edited after signing, and a ledger that
    cannot be opened: its task fails, nothing more is paid, and the `report_refused` alert goes out."""
    import shutil

    from bountyguard.ledger import ledger_path
    from bountyguard.report import latest_published

    work = tmp_path / "work"
    shutil.copytree(screened["db"].parent, work)
    db = work / screened["db"].name
    run_dir = latest_published(db)
    if damage == "ledger":
        ledger = ledger_path(db)
        for extra in (ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")):
            extra.unlink(missing_ok=True)
        ledger.write_bytes(b"not a ledger" * 100)
    else:
        name = "release_batch.csv" if damage == "release_batch" else "payout_decisions.csv"
        path = run_dir / name
        path.chmod(0o600)
        text = path.read_text(encoding="utf-8")
        # unlock a held payout, or send a released one to another account
        edited = text.replace(",hold,", ",release,", 1) if damage == "decisions" else text.replace("DE", "GB", 1)
        assert edited != text
        path.write_text(edited, encoding="utf-8")
    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("BOUNTYGUARD_ALERT_LOG", str(alerts))

    dr, states, _ = run_dag(fresh_dag(PAYOUTS, retries=0), conf={"db": str(db), "pays_for": AS_OF})

    assert dr.state == "failed" and states["release"] == "failed", states
    sent = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    assert [a["kind"] for a in sent] == ["report_refused"], sent
    assert sent[0]["dag_id"] == "payout_release" and sent[0]["error_type"] == "ReportRefused"
