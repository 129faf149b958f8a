"""Which report a payout run may pay: only the newest one, and only as the report it claims to be.

- A run triggered by `bountyguard_report` events pays only if the newest published report (`LATEST`)
  is one of the reports that triggered it. A backfill or a rerun of an earlier day publishes a report
  that never becomes LATEST while a later day's report exists (bountyguard/report.py), so its event
  starts a payout run that pays nothing and says so in its log and result.
- A run started by hand pays only if the newest report screens the day before the run (or the day it
  is told, `pays_for`): when today's run has not published, yesterday's clean report is not paid as
  if it were today's, loudly (BountyguardError).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bountyguard.errors import BountyguardError
from bountyguard.report import latest_published


def _newest(db: str | Path) -> dict | None:
    run_dir = latest_published(db)
    if run_dir is None:
        return None
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return {"run_id": run_dir.name, "as_of": str(report.get("as_of")), "report_sha256": report.get("report_sha256")}


def reason_not_to_pay(db: str | Path, triggering_reports: list[dict], pays_for: dt.date | None) -> str | None:
    """None when the newest report may be paid by this run; otherwise why this run pays nothing
    (not an error: the newest report is, or was, paid by its own run). Raises BountyguardError when a
    run started by hand would pay a report older than the day it pays for."""
    newest = _newest(db)
    if newest is None:
        return None  # the payout step itself refuses: nothing published
    if triggering_reports:
        triggered = {e.get("report_sha256") for e in triggering_reports}
        if newest["report_sha256"] in triggered:
            return None
        days = sorted({str(e.get("as_of") or e.get("run_id")) for e in triggering_reports})
        return (f"backfill or earlier day: this run was triggered by the report(s) of {', '.join(days)}, but the "
                f"newest published report is {newest['run_id']} (as of {newest['as_of']}); a backfill never pays, "
                "nothing is paid by this run")
    if pays_for is not None and newest["as_of"] < pays_for.isoformat():
        raise BountyguardError(
            f"the newest published report {newest['run_id']} is as of {newest['as_of']}, older than "
            f"{pays_for.isoformat()}, the day this run pays for: it is not paid as if it were today's "
            "(no clean report for that day yet; set the param pays_for to pay an earlier day on purpose)")
    return None
