"""
### Payout release

Pays the `release` decisions of the newest **clean** published bountyguard report, exactly once
(`bountyguard.payouts.release`, the same step as `bountyguard payouts release`).

**Trigger.** Scheduled on the `bountyguard_report` asset, not on a clock: it runs when
`referral_screening`'s `publish` task has published a report, never before and never on a stale one.
Manual runs are allowed (the release is idempotent: a payout already in the ledger is never paid
again).

**Which file.** It pays from the DuckDB file of the param `db` (default: the environment variable
`BOUNTYGUARD_DB`), which is deployment configuration, not from a path named in the asset event (anyone
allowed to post an asset event could name any file). If the triggering event names another file the
task fails, so a misconfigured pair of DAGs is seen instead of silently paying nothing.

**A report that is not clean fails the task (it is not skipped).** `release` pays nothing then; the
task fails at once and without retries (`AirflowFailException`), so the run is red, failure alerts
fire, and it stays visible in the run history. A skip would look like a normal, quiet outcome, yet
here it means that bounties which were due are not paid: someone has to look (a `not_clean` report
after a failed validation normally never gets here, since a failed validation emits no asset event;
reaching this task with one means a report was replaced in between, e.g. by a CLI run).

**Only the newest report, as the report it claims to be** (`bountyguard.release_guard`). A run
triggered by report events pays only when the newest published report (`LATEST`) is one of them: a
backfill or a rerun of an earlier day publishes a report that never becomes LATEST while a later day's
exists, so its run pays nothing and says so (result `not_paid_because`). A run started by hand pays
only a report screening the day before its logical date (or run time; or the param `pays_for`): when today's report is
missing, yesterday's is not paid as if it were today's (the task fails, alert `report_refused`).

**Alerts** (`bountyguard.alerts`): a task that failed after its last try (`task_failed`), a refused
report (`report_refused`), sent through the Airflow connection `bountyguard_alerts` or to the log.

**No pool.** `release` reads only the published report folder and writes the SQLite ledger next to the
DuckDB file (`bountyguard.ledger`); it never opens the DuckDB file, so it does not queue behind a
screening run in the `duckdb_writer` pool. Concurrent releases are safe: each payout is claimed in the
ledger once, and the provider deduplicates by idempotency key.

Task logs carry run ids, counts and digests only: never names, contact data or bank accounts.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from bountyguard.alerts import REPORT_REFUSED, TASK_FAILED, Alert
from bountyguard.assets import BOUNTYGUARD_REPORT

REPO = Path(__file__).resolve().parents[1]


class ReportRefused(AirflowFailException):
    """The newest report is not clean, altered or missing: nothing is paid (alert `report_refused`)."""

    alert_kind = REPORT_REFUSED


@dag(
    dag_id="payout_release",
    doc_md=__doc__,
    description="Pay the release decisions of the newest clean bountyguard report, exactly once.",
    schedule=[BOUNTYGUARD_REPORT],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bountyguard", "payouts"],
    default_args={
        "owner": "bountyguard",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(hours=1),
        "on_failure_callback": Alert(TASK_FAILED),
    },
    params={
        "db": Param(
            os.environ.get("BOUNTYGUARD_DB", str(REPO / "data" / "bountyguard.duckdb")),
            type="string",
            description="The DuckDB file whose newest clean published report is paid.",
        ),
        "config": Param(
            os.environ.get("BOUNTYGUARD_CONFIG") or None,
            type=["null", "string"],
            description="A TOML file overriding the packaged configuration (its [payouts] provider).",
        ),
        "dry_run": Param(False, type="boolean", description="Only log what would be paid."),
        "pays_for": Param(
            None,
            type=["null", "string"],
            description="A run started by hand pays the newest report only if it screens this day "
                        "(YYYY-MM-DD; empty: the day before the run).",
        ),
    },
)
def payout_release():
    @task
    def release(params=None, triggering_asset_events=None, dag_run=None) -> dict:
        from datetime import date

        from bountyguard import payouts, release_guard
        from bountyguard.config import load_config
        from bountyguard.errors import BountyguardError
        from bountyguard.payment_provider import PaymentProviderError

        db = params["db"]
        events = (triggering_asset_events or {}).get(BOUNTYGUARD_REPORT, [])
        if other := {e.extra["db"] for e in events if e.extra.get("db")} - {db, str(Path(db).resolve())}:
            raise AirflowFailException(f"the report event names db {sorted(other)}, this DAG pays from {db}")
        try:
            pays_for = (date.fromisoformat(params["pays_for"]) if params["pays_for"]
                        else None if events else (dag_run.logical_date or dag_run.run_after).date() - timedelta(days=1))
            if why_not := release_guard.reason_not_to_pay(db, [e.extra for e in events], pays_for):
                logging.getLogger("bountyguard.payouts").warning("%s", why_not)  # the log and the result say so
                return {"paid": 0, "not_paid_because": why_not}
            config = load_config(params["config"]) if params["config"] else None
            summary = payouts.release(db, dry_run=params["dry_run"], config=config)
        except PaymentProviderError:
            raise  # the provider may be back in a minute; claimed payouts are re-sent exactly once
        except BountyguardError as exc:  # not clean, nothing published, report altered, bad config
            raise ReportRefused(f"nothing is paid: {exc}") from exc
        # counts only: the summary's lists name payouts and analysts
        return {k: (len(v) if isinstance(v, list) else v) for k, v in summary.items()}

    release()


payout_release()
