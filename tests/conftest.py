import contextlib
import io
import os
import runpy
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from tests.builders import Platform


def pytest_configure(config):
    """Airflow reads its configuration when it is first imported, from AIRFLOW_HOME: point it at a
    throwaway folder before any test can import it, so no test ever writes ~/airflow."""
    # All of the home's settings (its DAGs folder above all), not only its path: a test that imports
    # airflow first (an alert, a notifier) fixes them for the whole session, and the DAG tests
    # (tests/airflow_support.py) then initialise this same home.
    from bountyguard.airflow_env import airflow_env

    home = os.environ.get("AIRFLOW_HOME") or tempfile.mkdtemp(prefix="bountyguard-airflow-")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        # scripts/test.sh runs the suite on two xdist workers: each its own home below the session's
        # (its own SQLite metadata database: two `dags test` at once would lock each other out)
        home = os.path.join(home, worker)
        os.makedirs(home, exist_ok=True)
        os.environ.update(airflow_env(home))
    else:
        for name, value in airflow_env(home).items():
            os.environ.setdefault(name, value)
    # Reports are signed (bountyguard/signing.py) and matching keys hashed (bountyguard/matching_keys.py):
    # random keys for this test session, never committed secrets. Subprocesses (the CLI, Airflow)
    # inherit them.
    import secrets

    os.environ.setdefault("BOUNTYGUARD_REPORT_KEYS", "test-session:" + secrets.token_hex(32))
    os.environ.setdefault("BOUNTYGUARD_MATCHING_KEYS", "test-session:" + secrets.token_hex(32))


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


# --- every run the tests publish must follow the contract -------------------------------------------

CHECKER = Path(__file__).resolve().parent.parent.parent / "shared" / "tools" / "check_export.py"


def _contract_problems(con, run, published_dir: str) -> str | None:
    """Run ../shared/tools/check_export.py on a published run. Its landing is the run's current state
    (an increment names only its own rows, the decisions cover the whole history), plus payout rows
    that could not be read at all (they are decided too: held)."""
    from bountyguard.contract import LOAD_ORDER, TABLES

    with tempfile.TemporaryDirectory() as landing:
        for table in LOAD_ORDER:
            cols = ", ".join(f'"{c}"' for c in TABLES[table].column_names)
            query = f'SELECT {cols} FROM "{table}"'
            if table == "payouts":
                query += (" UNION ALL SELECT DISTINCT record_key, NULL, NULL, NULL, NULL, NULL, NULL, 'pending', "
                          "NULL, NULL FROM rejects WHERE run_id = $run_id AND table_name = 'payouts' "
                          "AND record_key IS NOT NULL AND record_key NOT IN (SELECT payout_id FROM payouts)")
            con.execute(f"COPY ({query}) TO '{Path(landing) / (table + '.csv')}' (HEADER)",
                        {"run_id": run.run_id} if table == "payouts" else None)
        checker = runpy.run_path(str(CHECKER), run_name="check_export")
        out = io.StringIO()
        argv = sys.argv
        sys.argv = ["check_export.py", "--landing", landing, "--export", published_dir,
                    "--as-of", run.as_of.isoformat()]
        try:
            with contextlib.redirect_stdout(out):
                code = checker["main"]()
        finally:
            sys.argv = argv
    return None if code == 0 else f"run {run.run_id} ({published_dir}):\n{out.getvalue()}"


@pytest.fixture(autouse=True)
def every_published_run_follows_the_contract(monkeypatch):
    """Wrap the one function that publishes a run: after each publish in this test, the contract's
    own checker must pass on it (clean, not_clean and failed reports alike)."""
    if not CHECKER.exists():  # tests/test_report.py::test_the_contract_checker_is_at_hand says so, once
        yield
        return
    from bountyguard import pipeline

    original = pipeline._publish
    problems: list[str] = []

    def publish_and_check(con, db, run, status, outcome, error=None):
        summary = original(con, db, run, status, outcome, error)
        problem = _contract_problems(con, run, summary["published_dir"])
        if problem:
            problems.append(problem)
        return summary

    monkeypatch.setattr(pipeline, "_publish", publish_and_check)
    yield
    assert not problems, "published runs break CONTRACT.md:\n" + "\n".join(problems)
