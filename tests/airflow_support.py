"""Helpers for the DAG tests: a throwaway Airflow home, DAG parsing and in-process DAG runs.

Airflow reads AIRFLOW_HOME and its `AIRFLOW__*` variables once, when `airflow` is first imported, and
keeps using them for the whole process. So `use_airflow_home` must run before anything in the test
session imports airflow (bountyguard.assets and the DAG files do); it refuses to go on if airflow was
already imported with another home, rather than let tests write into someone's ~/airflow.
"""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bountyguard.airflow_env import DAGS_FOLDER, POOL, REPO, prepare_airflow_home

SCREENING = "referral_screening"
PAYOUTS = "payout_release"
SCREENING_TASKS = ["start_run", "pull", "ingest", "validate", "detect", "decide", "publish"]


def use_airflow_home(home: Path) -> tuple[dict[str, str], float]:
    """Initialise `home` (db migrate, pool), point this process at it; return (env, seconds taken)."""
    home = Path(home).resolve()
    if "airflow" in sys.modules:
        from airflow.configuration import AIRFLOW_HOME

        if Path(AIRFLOW_HOME).resolve() != home:
            pytest.fail(
                f"airflow was imported before the DAG tests set AIRFLOW_HOME (it uses {AIRFLOW_HOME}); "
                "set AIRFLOW_HOME in tests/conftest.py's pytest_configure, or run the DAG tests alone"
            )
    started = time.perf_counter()
    env = prepare_airflow_home(home)
    os.environ.update(env)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from airflow import settings

    if settings.Session is None:
        settings.configure_orm()
    return env, time.perf_counter() - started


def dag_bag():
    """Parse the repository's dags folder, as the DAG processor would."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER), known_pools={"default_pool", POOL})


def fresh_dag(dag_id: str, *, retries: int | None = None):
    """A freshly parsed DAG (tests may change it); `retries` overrides every task's retries so a
    failing test fails at once instead of waiting for retry delays."""
    bag = dag_bag()
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    if retries is not None:
        for t in dag.tasks:
            t.retries = retries
    return dag


def utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def run_dag(dag, *, logical_date: datetime | None = None, conf: dict | None = None):
    """dag.test() in this process; returns (dag run, {task_id: state}, seconds)."""
    started = time.perf_counter()
    kwargs = {"run_conf": conf}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    dr = dag.test(**kwargs)
    seconds = time.perf_counter() - started
    return dr, task_states(dr), seconds


def task_states(dr) -> dict[str, str]:
    from airflow.settings import Session

    with Session() as session:
        return {ti.task_id: str(ti.state) for ti in dr.get_task_instances(session=session)}


def asset_events(asset_name: str) -> list[dict]:
    """The extras of every event of the asset, oldest first."""
    from sqlalchemy import select

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.settings import Session

    with Session() as session:
        rows = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == asset_name)
            .order_by(AssetEvent.id)
        ).all()
        return [dict(e.extra or {}) for e in rows]


def pool_slots(name: str) -> int | None:
    from airflow.models.pool import Pool
    from airflow.settings import Session

    with Session() as session:
        pool = Pool.get_pool(name, session=session)
        return None if pool is None else pool.slots
