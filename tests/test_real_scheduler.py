"""Both DAGs under a real Airflow: scheduler, DAG processor, API server, triggerer and a Celery worker
as separate processes, PostgreSQL metadata and a Redis broker (the machine's services, never Docker).

One test, in order (the processes start once, ~1 minute):
1. the screening DAG's scheduled run for yesterday (data generated as of yesterday) succeeds on the
   Celery worker (late by construction: its clean report was due at midnight, so the triggerer sends
   the `deadline_missed` alert), its `bountyguard_report` asset event triggers `payout_release`, which succeeds, and
   the ledger holds exactly the report's `release` decisions;
2. a run triggered on bad data (a tenth of the jobs' amounts unreadable) fails in `validate`, the
   `validation_failed` alert reaches a webhook (an HTTP server in this test, configured as the Airflow
   connection `bountyguard_alerts`) with the failed checks, and no payout run follows.

Isolation from parallel runs: a fresh metadata database, a private AIRFLOW_HOME, free ports, a Redis key
prefix and Celery node name of its own. Every process runs in its own process group and is stopped by
that group's id, whatever happens. A missing PostgreSQL or Redis fails the test when CI=true and skips
it otherwise. Run it alone with `pytest -m scheduler`.
"""
from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.pg_support import PG_HOST, PG_PORT, PG_USER, _unreachable, server_uri

pytestmark = [pytest.mark.scheduler, pytest.mark.postgres, pytest.mark.timeout(900)]

REDIS_URL = os.environ.get("BOUNTYGUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SCREENING, PAYOUTS = "referral_screening", "payout_release"
WAIT_SECONDS = 300  # per phase; the whole test takes about 2-3 minutes on 2 idle cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AlertReceiver:
    """A tiny webhook: keeps every JSON body POSTed to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class StatsdReceiver:
    """A UDP socket standing in for StatsD: keeps every metric line Airflow sends."""

    def __init__(self):
        self.lines: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.running = True
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        while self.running:
            try:
                self.lines.extend(self.sock.recv(65535).decode("utf-8", "replace").splitlines())
            except OSError:
                continue

    def gauges(self, prefix: str) -> dict[str, float]:
        out = {}
        for line in list(self.lines):
            name, _, rest = line.partition(":")
            if name.startswith(prefix) and rest.endswith("|g"):
                out[name[len(prefix):]] = float(rest[:-2])
        return out

    def close(self):
        self.running = False
        self.sock.close()


class Processes:
    """Airflow components started as process-group leaders, stopped by group id."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs, self.started = env, logs, []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "airflow", *args], env=self.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.started.append((name, proc))
        return proc

    def check_alive(self):
        dead = [(n, p.returncode) for n, p in self.started if p.poll() is not None]
        assert not dead, f"Airflow components exited: {dead}\n{self.tails()}"

    def stop(self):
        for _, proc in self.started:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # pgid == pid: each is its session's leader
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for _, proc in self.started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group's children too (task runners, Celery pool processes, API server workers)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def tails(self, lines: int = 25) -> str:
        parts = []
        for f in sorted(self.logs.glob("*.log")):
            text = f.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            parts.append(f"--- {f.name}\n" + "\n".join(text))
        for f in sorted(Path(self.env["AIRFLOW_HOME"], "logs").rglob("*.log"))[-4:]:
            text = f.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            parts.append(f"--- task log {f}\n" + "\n".join(text))
        return "\n".join(parts)


def services():
    """Connections to the PostgreSQL server and Redis, or fail/skip (CI=true: fail)."""
    try:
        import psycopg
        import redis
    except ImportError as exc:
        _unreachable(f"a client library is missing ({exc})")
    try:
        admin = psycopg.connect(server_uri(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _unreachable(str(exc).strip().splitlines()[0])
    try:
        broker = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
        broker.ping()
    except redis.RedisError as exc:
        admin.close()
        message = f"Redis at {REDIS_URL} is not reachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the service must be running)", pytrace=False)
        pytest.skip(message + " (set CI=true to make this a failure)")
    return admin, broker


@pytest.fixture
def airflow_cluster(tmp_path):
    """Metadata database, Airflow home and environment; yields (env, processes, metadata, alerts)."""
    import psycopg
    from cryptography.fernet import Fernet

    from bountyguard.airflow_env import prepare_airflow_home

    admin, broker = services()
    tag = uuid.uuid4().hex[:12]
    dbname = f"bg_airflow_{tag}"
    admin.execute(f'CREATE DATABASE "{dbname}"')
    alerts = AlertReceiver()
    statsd = StatsdReceiver()
    procs = None
    metadata = None
    try:
        api_port = free_port()
        metadata_uri = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"
        home = tmp_path / "airflow"
        env = {**os.environ, **prepare_airflow_home(home, sql_alchemy_conn=metadata_uri)}
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata_uri}",
            # every key this run writes to Redis starts with it: parallel runs never see each other
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"bg{tag}:",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # both DAGs run as soon as they are parsed: the screening DAG's latest interval (yesterday)
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # a busy CI machine answers slower than the 5 s default: a timeout there fails a task try
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
            "BOUNTYGUARD_DEADLINE_ALERT": "on",  # a real scheduler and triggerer: the deadline works
            "AIRFLOW_CONN_BOUNTYGUARD_ALERTS": json.dumps({"conn_type": "http", "host": alerts.url}),
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        })
        for key in ("BOUNTYGUARD_LANDING", "BOUNTYGUARD_DB", "BOUNTYGUARD_CONFIG", "BOUNTYGUARD_SOURCE_CONN_ID",
                    "BOUNTYGUARD_ALERT_LOG"):
            env.pop(key, None)
        logs = tmp_path / "process-logs"
        logs.mkdir()
        procs = Processes(env, logs)
        metadata = psycopg.connect(server_uri(dbname), autocommit=True)
        yield env, procs, metadata, alerts, statsd
    finally:
        try:
            if procs is not None:
                procs.stop()
        finally:
            alerts.close()
            statsd.close()
            if metadata is not None:
                metadata.close()
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.close()
            for key in broker.scan_iter(match=f"bg{tag}:*"):
                broker.delete(key)
            broker.close()


def wait_for(what: str, probe, procs: Processes, timeout: float = WAIT_SECONDS, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := probe()) is not None:
            return value
        procs.check_alive()
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{procs.tails()}", pytrace=False)


def api_healthy(base_url: str) -> bool | None:
    try:
        with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=5) as response:
            return True if response.status == 200 else None
    except OSError:
        return None


def finished_runs(metadata, dag_id: str) -> list[tuple]:
    return metadata.execute(
        "SELECT run_id, state, run_type FROM dag_run WHERE dag_id = %s AND state IN ('success', 'failed') "
        "ORDER BY id", [dag_id]).fetchall()


def all_runs(metadata, dag_id: str) -> list[tuple]:
    return metadata.execute("SELECT run_id, state, run_type FROM dag_run WHERE dag_id = %s ORDER BY id",
                            [dag_id]).fetchall()


def task_states(metadata, dag_id: str, run_id: str) -> dict[str, str]:
    return dict(metadata.execute(
        "SELECT task_id, state FROM task_instance WHERE dag_id = %s AND run_id = %s", [dag_id, run_id]).fetchall())


def report_events(metadata) -> list[dict]:
    rows = metadata.execute(
        "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = 'bountyguard_report' "
        "ORDER BY e.id").fetchall()
    return [r[0] if isinstance(r[0], dict) else json.loads(r[0] or "{}") for r in rows]


def timeline(metadata, started_at: datetime) -> str:
    """Each task's queue wait and run time, seconds after the test started: where the time goes."""
    rows = metadata.execute(
        "SELECT dag_id, run_id, task_id, queued_dttm, start_date, end_date FROM task_instance "
        "ORDER BY start_date NULLS LAST").fetchall()
    at = lambda t: f"{(t - started_at).total_seconds():6.1f}" if t else "     -"  # noqa: E731
    return "\n".join(f"  {d}/{r}/{t}: queued {at(q)} started {at(s)} ended {at(e)}" for d, r, t, q, s, e in rows)


def bad_landing(good: Path, out: Path) -> Path:
    """A copy of `good` where every tenth job's bounty amount is not a number: too many rejects."""
    out.mkdir()
    for f in good.iterdir():
        if f.name != "jobs.csv":
            (out / f.name).write_bytes(f.read_bytes())
            continue
        with open(f, newline="", encoding="utf-8") as src:
            rows = list(csv.reader(src))
        col = rows[0].index("bounty_amount")
        for row in rows[1::10]:
            row[col] = "lots"
        with open(out / f.name, "w", newline="", encoding="utf-8") as dst:
            csv.writer(dst).writerows(rows)
    return out


def test_screening_and_payout_under_the_scheduler_with_celery(airflow_cluster, tmp_path):
    from bountyguard.evaluation.generator import generate
    from bountyguard.ledger import export_ledger_csv
    from bountyguard.report import latest_published, load_verified_report

    env, procs, metadata, alerts, statsd = airflow_cluster
    started, started_at = time.monotonic(), datetime.now(timezone.utc)
    # The scheduled run a freshly unpaused DAG gets (catchup off) is the last complete day: yesterday.
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date()
    generated = tmp_path / "generated"
    generate(generated, seed=7, scale=0.1, as_of=yesterday)
    db = tmp_path / "work" / "bountyguard.duckdb"
    # the clean report of a day is due at its end: yesterday's is late already, so the deadline alert
    # must come from the triggerer while the scheduled run for yesterday is still running
    config = tmp_path / "bountyguard.toml"
    config.write_text("[deadline]\nclean_report_due_hours = 0\n", encoding="utf-8")
    env.update({"BOUNTYGUARD_LANDING": str(generated / "landing"), "BOUNTYGUARD_DB": str(db),
                "BOUNTYGUARD_CONFIG": str(config)})

    procs.start("api-server", "api-server", "--port", env["AIRFLOW__API__PORT"], "--host", "127.0.0.1",
                "--workers", "1")
    procs.start("scheduler", "scheduler")
    procs.start("dag-processor", "dag-processor")
    procs.start("triggerer", "triggerer", "--skip-serve-logs")
    # as in the compose file, the worker starts once the API server answers: its tasks talk to it
    wait_for("the API server", lambda: api_healthy(env["AIRFLOW__API__BASE_URL"]), procs, timeout=180)
    procs.start("celery-worker", "celery", "worker", "--queues", "default,duckdb", "--concurrency", "2",
                "--celery-hostname", f"bountyguard-test-{uuid.uuid4().hex[:8]}@%h", "--skip-serve-logs",
                "--without-gossip", "--without-mingle")

    # 1. the scheduled screening run, then the payout run its asset event triggers
    screening = wait_for("the scheduled referral_screening run to finish",
                         lambda: (finished_runs(metadata, SCREENING) or None), procs)
    run_id, state, run_type = screening[0]
    states = task_states(metadata, SCREENING, run_id)
    assert (state, run_type) == ("success", "scheduled"), f"{states}\n{procs.tails()}"
    assert set(states.values()) == {"success"}
    queues = dict(metadata.execute("SELECT task_id, queue FROM task_instance WHERE dag_id = %s AND run_id = %s",
                                   [SCREENING, run_id]).fetchall())
    assert set(queues.values()) == {"duckdb"}, queues  # the worker holding the DuckDB file runs them all
    payout = wait_for("payout_release, triggered by the report asset, to finish",
                      lambda: (finished_runs(metadata, PAYOUTS) or None), procs)
    assert [(s, t) for _, s, t in payout] == [("success", "asset_triggered")], procs.tails()
    first_phase = time.monotonic() - started

    report, decisions, _ = load_verified_report(latest_published(db))
    assert report["status"] == "clean" and str(report["as_of"]) == yesterday.isoformat()
    assert [e["report_sha256"] for e in report_events(metadata)] == [report["report_sha256"]]
    with open(export_ledger_csv(db, tmp_path / "ledger.csv"), newline="", encoding="utf-8") as f:
        ledger = list(csv.DictReader(f))
    released = sorted(d["payout_id"] for d in decisions if d["decision"] == "release")
    # a release whose referrer has no bank account on file waits unpaid (the release batch says so)
    with open(latest_published(db) / "release_batch.csv", newline="", encoding="utf-8") as f:
        payable = sorted(r["payout_id"] for r in csv.DictReader(f) if r["payee_iban"])
    assert payable and set(payable) <= set(released)
    assert sorted(r["payout_id"] for r in ledger) == payable
    assert {r["report_sha256"] for r in ledger} == {report["report_sha256"]}
    with open(generated / "truth" / "payouts.csv", newline="", encoding="utf-8") as f:
        abusive = {r["payout_id"] for r in csv.DictReader(f) if r["blocked"] == "true"}
    assert abusive and not abusive & set(released)
    deadline = wait_for("the deadline alert", lambda: alerts.received[0] if alerts.received else None, procs,
                        timeout=60)
    assert [a["kind"] for a in alerts.received] == ["deadline_missed"], alerts.received
    assert deadline["details"] == {"dag_id": SCREENING, "due_hours_after_day": 0}
    # the run's metrics reached StatsD through Airflow's Stats, as gauges
    gauges = statsd.gauges("airflow.bountyguard.")
    assert gauges.get("decisions.release") == report["decision_counts"]["release"], sorted(gauges)[:20]
    assert gauges.get("rows_in.referrals") == report["tables"]["referrals"]["rows_in"]
    assert sum(v for k, v in gauges.items() if k.startswith("flags.")) == sum(report["flag_counts"].values())
    assert gauges.get("step_seconds.detect", 0) > 0

    # 2. a run on bad data: validate fails, the alert arrives, nothing is paid
    bad = bad_landing(generated / "landing", tmp_path / "bad-landing")
    trigger = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "trigger", SCREENING, "--run-id", "bad_data",
         "--conf", json.dumps({"landing": str(bad), "as_of": yesterday.isoformat()})],
        env=env, capture_output=True, text=True, timeout=120)
    assert trigger.returncode == 0, trigger.stdout + trigger.stderr
    wait_for("the bad-data run to finish",
             lambda: next((r for r in finished_runs(metadata, SCREENING) if r[0] == "bad_data"), None), procs)
    states = task_states(metadata, SCREENING, "bad_data")
    assert all_runs(metadata, SCREENING)[-1][:2] == ("bad_data", "failed")
    assert states["validate"] == "failed", states
    assert {states[t] for t in ("detect", "decide", "publish")} == {"upstream_failed"}, states
    alert = wait_for("the validation alert at the webhook",
                     lambda: alerts.received[-1] if len(alerts.received) > 1 else None, procs, timeout=60)
    assert alert["kind"] == "validation_failed", alert
    assert (alert["dag_id"], alert["dag_run_id"], alert["task_id"]) == (SCREENING, "bad_data", "validate")
    failed_checks = alert["details"]["failed_checks"]
    assert any(c["table"] == "jobs" for c in failed_checks), failed_checks
    assert all(set(c) == {"check", "table", "observed"} for c in failed_checks)
    assert len(alerts.received) == 2, alerts.received  # one alert per failure, not one per callback
    report = json.loads((latest_published(db) / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "not_clean"
    time.sleep(5)  # give the scheduler a few loops: an asset event would have created a run by now
    assert len(report_events(metadata)) == 1
    assert len(all_runs(metadata, PAYOUTS)) == 1
    with open(export_ledger_csv(db, tmp_path / "ledger-after.csv"), newline="", encoding="utf-8") as f:
        assert sorted(r["payout_id"] for r in csv.DictReader(f)) == payable
    print(f"\nreal scheduler: clean run and payout in {first_phase:.0f} s, "
          f"whole test {time.monotonic() - started:.0f} s\n{timeline(metadata, started_at)}")
