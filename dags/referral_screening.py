"""
### Referral screening

Screens the referral platform's landing folder every day before any bounty is paid:
`start_run -> pull -> ingest -> validate -> detect -> decide -> publish`, each task one call into
`bountyguard.pipeline` (the same steps as `bountyguard run`).

**As-of date.** A scheduled run covers one UTC day (`CronDataIntervalTimetable("@daily")`: the run
for 30 June starts at 1 July 00:00, when the day is complete) and screens as of that day, its logical
date. A manual run screens as of the logical date it was given, so
`airflow dags test referral_screening 2026-06-30` screens as of 2026-06-30; a manual run without a
logical date screens as of the last complete day of its data interval (yesterday). The `as_of` param
overrides all of this.

**Paths** come from the params `landing`, `db` and `config`, whose defaults are the environment
variables `BOUNTYGUARD_LANDING`, `BOUNTYGUARD_DB` and `BOUNTYGUARD_CONFIG` of the DAG processor.

**From the platform's database.** With the param `source_conn_id` (default: the environment variable
`BOUNTYGUARD_SOURCE_CONN_ID`) naming an Airflow connection of type postgres, the `pull` task fetches
the rows changed since the last run into the run's own landing folder instead of reading `landing`;
the watermarks advance only when `ingest` has loaded those rows. Without it, `pull` does nothing.

**Failure, closed.** When the data fails validation, `validate` has already published a `not_clean`
report that holds every payout; the task then fails at once (`AirflowFailException`, no retries),
nothing downstream runs, and the run is visibly failed. Errors a user must fix (landing folder,
configuration) fail a task at once too; other errors (e.g. a busy database file) are retried. When a
task has failed for good, its failure callback publishes a `failed` report that holds every due
payout, as `bountyguard run` does. Only a successful `publish` emits the `bountyguard_report` asset
event that triggers `payout_release`.

**Concurrency.** Every task runs in the pool `duckdb_writer` (one slot: DuckDB allows one writing
process per file) and on the Celery queue `duckdb`, served only by the worker that holds the DuckDB
file; at most one run is active.

**Alerts and deadline** (`bountyguard.alerts`, routed by the Airflow connection `bountyguard_alerts`
or to the log): `task_failed` after a task's last try, `validation_failed` with the failed checks'
counts, `unusual_results` when a clean run's flags or held money are far above the earlier clean
runs (`[alerts]`), and `deadline_missed` from the triggerer (a DeadlineAlert) when the run of day D
has not succeeded by D+1 00:00 plus `[deadline] clean_report_due_hours`.

**Metrics.** `publish` sends the run's metrics (`bountyguard runs show`) to Airflow's Stats as
`bountyguard.<metric>.<key>` gauges when StatsD or OpenTelemetry is on.

**Backfills** (`airflow backfill create`) screen each past day as of that day; their reports never
become the LATEST report while a later day's exists, so they are never paid.

Task logs carry run ids, counts and digests only: never names, contact data or bank accounts.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path

from airflow.sdk import AsyncCallback, CronDataIntervalTimetable, DeadlineAlert, DeadlineReference, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from bountyguard.alerts import DEADLINE_MISSED, TASK_FAILED, UNUSUAL_RESULTS, VALIDATION_FAILED, Alert
from bountyguard.assets import BOUNTYGUARD_REPORT

REPO = Path(__file__).resolve().parents[1]
POOL = "duckdb_writer"
# The Celery queue of every task that opens the DuckDB file: only the worker holding the file serves it.
DUCKDB_QUEUE = "duckdb"


def clean_report_deadline() -> DeadlineAlert | None:
    """The day's clean report is due `[deadline] clean_report_due_hours` after the day ends: the
    logical date is the day's start, so the deadline is logical date + 24 h + those hours.
    BOUNTYGUARD_DEADLINE_ALERT=off leaves it out: Airflow 3.3.2's `dag.test()` / `airflow dags test`
    cannot finish a successful run of a DAG that has one (it looks the alert up by its serialized form
    instead of its id), so the project-local home for those (bountyguard.airflow_env) turns it off."""
    from bountyguard.config import load_config

    if os.environ.get("BOUNTYGUARD_DEADLINE_ALERT", "on").lower() in {"off", "false", "0"}:
        return None
    hours = load_config(os.environ.get("BOUNTYGUARD_CONFIG") or None)["deadline"]["clean_report_due_hours"]
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=timedelta(hours=24 + hours),
        callback=AsyncCallback(Alert, kwargs={"kind": DEADLINE_MISSED, "details": {
            "dag_id": "referral_screening", "due_hours_after_day": hours}}),
    )


class ValidationFailed(AirflowFailException):
    """The data failed validation; `validate` has already published the run's not_clean report.
    Its alert names the failed checks with their observed counts (never values)."""

    alert_kind = VALIDATION_FAILED

    def __init__(self, message: str, failed_checks: list[dict]):
        super().__init__(message)
        self.alert_details = {"failed_checks": failed_checks}


def as_of_date(
    logical_date: datetime | None,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    override: str | None = None,
) -> str:
    """The screening date of a run, YYYY-MM-DD (see the module docstring)."""
    if override:
        return date.fromisoformat(override).isoformat()
    if logical_date is not None:
        # Scheduled runs: logical_date == data_interval_start, the one day inside the interval.
        return logical_date.date().isoformat()
    if data_interval_end is not None and data_interval_start is not None:
        # The last day that lies inside [start, end).
        return (data_interval_end - timedelta(microseconds=1)).date().isoformat()
    raise AirflowFailException("this run has neither a logical date nor a data interval: pass the as_of param")


def step(function, *args, **kwargs):
    """Call one step of `bountyguard.pipeline`. Errors a user must fix (bad landing folder, bad
    configuration) fail the task at once; anything else, e.g. a busy database file, is retried."""
    from bountyguard.errors import BountyguardError, DatabaseBusyError

    try:
        return function(*args, **kwargs)
    except DatabaseBusyError:
        raise
    except BountyguardError as exc:
        raise AirflowFailException(f"{function.__name__}: {exc}") from exc


def publish_failed_report(context) -> None:
    """on_failure_callback (after the last try): fail closed like `bountyguard run`, i.e. publish a
    `failed` report that holds every due payout. Not after a failed validation (its not_clean report
    is already published) nor when no run was registered."""
    from bountyguard import pipeline

    ti = context["ti"]
    screening_run = ti.xcom_pull(task_ids="start_run")
    if not screening_run or isinstance(context.get("exception"), ValidationFailed):
        return
    pipeline.fail_run(context["params"]["db"], screening_run, f"task {ti.task_id} failed; see its log")


@dag(
    dag_id="referral_screening",
    doc_md=__doc__,
    description="Screen referrals and hires for bounty fraud and decide which payouts to release.",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    deadline=clean_report_deadline(),
    tags=["bountyguard", "screening"],
    default_args={
        "owner": "bountyguard",
        "pool": POOL,
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(hours=3),
        "queue": DUCKDB_QUEUE,
        # after the last try: hold every payout, then tell ops
        "on_failure_callback": [publish_failed_report, Alert(TASK_FAILED)],
    },
    params={
        "landing": Param(
            os.environ.get("BOUNTYGUARD_LANDING", str(REPO / "data" / "landing")),
            type="string",
            description="The landing folder the platform delivers (one file per table).",
        ),
        "db": Param(
            os.environ.get("BOUNTYGUARD_DB", str(REPO / "data" / "bountyguard.duckdb")),
            type="string",
            description="The DuckDB file; reports are published next to it.",
        ),
        "config": Param(
            os.environ.get("BOUNTYGUARD_CONFIG") or None,
            type=["null", "string"],
            description="A TOML file overriding the packaged configuration (empty: the defaults).",
        ),
        "source_conn_id": Param(
            os.environ.get("BOUNTYGUARD_SOURCE_CONN_ID") or None,
            type=["null", "string"],
            description="An Airflow connection (postgres) to the platform's database; empty: read `landing`.",
        ),
        "as_of": Param(
            None,
            type=["null", "string"],
            description="Screen as of this date (YYYY-MM-DD) instead of the one the schedule gives.",
        ),
    },
)
def referral_screening():
    @task
    def start_run(params=None, logical_date=None, data_interval_start=None, data_interval_end=None) -> str:
        from bountyguard import pipeline

        as_of = as_of_date(logical_date, data_interval_start, data_interval_end, params["as_of"])
        return step(pipeline.start_run, params["db"], params["landing"], as_of, config=params["config"] or None,
                    from_source=bool(params["source_conn_id"]))

    @task
    def pull(screening_run: str, params=None) -> str:
        from bountyguard import pipeline

        if params["source_conn_id"]:
            from bountyguard.source_postgres import airflow_connection_uri

            step(pipeline.pull, params["db"], screening_run, airflow_connection_uri(params["source_conn_id"]))
        return screening_run

    @task
    def ingest(screening_run: str, params=None) -> str:
        from bountyguard import pipeline

        step(pipeline.ingest, params["db"], screening_run)
        return screening_run

    @task
    def validate(screening_run: str, params=None) -> str:
        from bountyguard import pipeline

        if not (outcome := step(pipeline.validate, params["db"], screening_run))["success"]:
            failed = [{"check": c["check"], "table": c["table"], "observed": c["observed"]}
                      for c in outcome["checks"] if not c["success"]]
            raise ValidationFailed(f"run {screening_run}: {outcome['message']}; its not_clean report holds every payout",
                                   failed)
        return screening_run

    @task
    def detect(screening_run: str, params=None) -> str:
        from bountyguard import pipeline

        step(pipeline.detect, params["db"], screening_run)
        return screening_run

    @task
    def decide(screening_run: str, params=None) -> str:
        from bountyguard import pipeline

        step(pipeline.decide, params["db"], screening_run)
        return screening_run

    @task(outlets=[BOUNTYGUARD_REPORT])
    def publish(screening_run: str, params=None, outlet_events=None, **context) -> dict:
        from bountyguard import pipeline, run_metrics

        published = step(pipeline.publish, params["db"], screening_run)
        if unusual := run_metrics.watch(params["db"], screening_run):  # also sends the run's metrics to Stats
            Alert(UNUSUAL_RESULTS, details=unusual)(context)
        summary = {
            "run_id": screening_run,
            "status": published["status"],
            "report_sha256": published["report_sha256"],
            "report_path": str(published["report_path"]),
            "db": params["db"],
        }
        outlet_events[BOUNTYGUARD_REPORT].extra = summary
        return summary

    publish(decide(detect(validate(ingest(pull(start_run()))))))


referral_screening()
