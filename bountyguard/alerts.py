"""Alerts to ops engineers, sent through Airflow's notifier mechanism (`BaseNotifier`).

`Alert(kind)` is a notifier: put it in a task's `on_failure_callback` (Airflow calls it with the task
context after the last try) or call it from a task with the context (`Alert("unusual_results",
details={...})(context)`). Where it goes is decided when it is sent, on the worker, so one DAG file
serves every deployment:

- the Airflow connection `bountyguard_alerts` (any way Airflow finds connections: the metadata
  database, a secrets backend, or the variable `AIRFLOW_CONN_BOUNTYGUARD_ALERTS`), whose `host` is a
  webhook URL (`{"conn_type": "http", "host": "https://hooks.example.com/T0/B0"}`): the alert is
  POSTed there as JSON; a webhook that does not answer 2xx fails the callback loudly;
- otherwise the log notifier: the alert is logged at ERROR on the logger `bountyguard.alerts` (the
  task log), and, when `BOUNTYGUARD_ALERT_LOG` names a file, appended to it as one JSON line.

An alert carries ids, counts and codes only (DAG, run, task, try, the kind, the failed checks with
their counts): never names, contact data, bank accounts, raw rows or exception messages, which may
quote data. The task log has the rest.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

CONNECTION_ID = "bountyguard_alerts"
LOG_FILE_VARIABLE = "BOUNTYGUARD_ALERT_LOG"
WEBHOOK_TIMEOUT_SECONDS = 10

# The kinds an ops engineer can route on.
TASK_FAILED = "task_failed"
VALIDATION_FAILED = "validation_failed"
REPORT_REFUSED = "report_refused"
UNUSUAL_RESULTS = "unusual_results"
DEADLINE_MISSED = "deadline_missed"
KINDS = (TASK_FAILED, VALIDATION_FAILED, REPORT_REFUSED, UNUSUAL_RESULTS, DEADLINE_MISSED)

log = logging.getLogger("bountyguard.alerts")


def _get(thing, name: str):
    return thing.get(name) if isinstance(thing, dict) else getattr(thing, name, None)


def _ids(context: dict) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_run = context.get("dag_run")  # a deadline's callback gets a plain dict here
    return {
        "dag_id": getattr(ti, "dag_id", None) or _get(dag, "dag_id") or _get(dag_run, "dag_id"),
        "dag_run_id": getattr(ti, "run_id", None) or _get(dag_run, "run_id"),
        "task_id": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
    }


def alert_payload(kind: str, context: dict, details: dict | None = None) -> dict[str, Any]:
    """The alert as sent: ids, the kind and `details` (counts and codes); `details` from the raised
    exception's `alert_details` when it carries some (e.g. the failed validation checks)."""
    exception = context.get("exception")
    merged = dict(getattr(exception, "alert_details", None) or {})
    merged.update(details or {})
    kind = getattr(exception, "alert_kind", None) or kind
    payload = {"source": "bountyguard", "kind": kind, **_ids(context),
               "sent_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if exception is not None:
        payload["error_type"] = type(exception).__name__  # the message may quote data: the log has it
    payload["details"] = merged
    return payload


def webhook_url() -> str | None:
    """The URL of the `bountyguard_alerts` connection, or None when it is not defined."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(CONNECTION_ID)
    except Exception:  # AirflowNotFoundException, whichever module it comes from: not configured
        return None
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" in host:
        return host
    scheme = "https" if (conn.extra_dejson or {}).get("https", True) else "http"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.lstrip('/')}" if conn.schema else ""
    return f"{scheme}://{host}{port}{path}"


def post_json(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload, default=str).encode("utf-8"),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 (configured URL)
        if not 200 <= response.status < 300:
            raise RuntimeError(f"alert webhook answered HTTP {response.status}")


def log_alert(payload: dict) -> None:
    log.error("ALERT %s", json.dumps(payload, default=str, sort_keys=True))
    if path := os.environ.get(LOG_FILE_VARIABLE):
        with open(Path(path), "a", encoding="utf-8") as f:
            f.write(json.dumps(payload, default=str, sort_keys=True) + "\n")


class Alert(BaseNotifier):
    """One alert of `kind` (see KINDS), routed to the webhook connection or to the log. As a task
    callback it runs on the worker (`notify`); as a DeadlineAlert's AsyncCallback, in the triggerer
    (`async_notify`, which Airflow gives a small context of the DAG run)."""

    def __init__(self, kind: str = TASK_FAILED, details: dict | None = None, context: dict | None = None):
        super().__init__(context)
        if kind not in KINDS:
            raise ValueError(f"unknown alert kind {kind!r}; one of {', '.join(KINDS)}")
        self.kind = kind
        self.details = details or {}

    def notify(self, context) -> None:
        payload = alert_payload(self.kind, context, self.details)
        if url := webhook_url():
            post_json(url, payload)
            log.warning("alert %s sent to the %s webhook", payload["kind"], CONNECTION_ID)
        else:
            log_alert(payload)

    async def async_notify(self, context) -> None:
        import asyncio

        await asyncio.to_thread(self.notify, context or {})  # urllib blocks: keep the triggerer's loop free
