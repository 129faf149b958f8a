"""The data-quality gate. Any doubt about the data fails the run closed: report not_clean, every
payout held.

Whole-history and cross-table checks run as one DuckDB SQL pass (sql/validation/checks.sql), which
stays cheap at ten million rows; their small result (one number per check), together with the load's
reject rates and file problems, is validated by a Great Expectations suite, so every outcome lands in
one GX validation result. (GX cannot validate DuckDB itself through SQLAlchemy, and validating the
whole history as a pandas frame costs minutes and gigabytes at scale.)
"""
from __future__ import annotations

import logging

import duckdb
import pandas as pd

from bountyguard.contract import LOAD_ORDER
from bountyguard.db import sql_text

log = logging.getLogger(__name__)

SUITE_NAME = "bountyguard_gate"


def collect_metrics(con: duckdb.DuckDBPyConnection, run_id: str, config: dict) -> list[dict]:
    """Every check of the gate as {check_name, table_name, observed, allowed, detail}."""
    metrics = []
    max_rate = float(config["ingest"]["max_reject_rate"])
    for table, rows_in, rejected, problem in con.execute(
        "SELECT table_name, rows_in, rows_rejected, problem FROM load_stats WHERE run_id = ?", [run_id]
    ).fetchall():
        metrics.append({
            "check_name": f"file_readable__{table}", "table_name": table,
            "observed": 1 if problem else 0, "allowed": 0, "detail": problem,
        })
        rate = (rejected / rows_in) if rows_in else 0.0
        metrics.append({
            "check_name": f"reject_rate__{table}", "table_name": table, "observed": rate,
            "allowed": max_rate, "detail": f"{rejected} of {rows_in} rows rejected" if rejected else None,
        })
    for check_name, table, violations in con.execute(sql_text("validation/checks.sql")).fetchall():
        metrics.append({
            "check_name": check_name, "table_name": table, "observed": int(violations), "allowed": 0,
            "detail": f"{violations} violating rows" if violations else None,
        })
    order = {t: i for i, t in enumerate(LOAD_ORDER)}
    metrics.sort(key=lambda m: (order.get(m["table_name"], 99), m["check_name"]))
    return metrics


def run_gate(metrics: list[dict]) -> dict:
    """Validate the metrics with Great Expectations; return a deterministic, JSON-able outcome.

    The suite holds one expectation over the long metrics frame, `allowed >= observed` for every
    check, and names the failing checks through GX's unexpected index list: one expectation costs
    milliseconds where one expectation per check cost seconds."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = pd.DataFrame(
        {
            "check_name": [m["check_name"] for m in metrics],
            "observed": [float(m["observed"]) for m in metrics],
            "allowed": [float(m["allowed"]) for m in metrics],
        }
    )
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # noise in task logs
    batch_definition = (
        context.data_sources.add_pandas("gate_metrics")
        .add_dataframe_asset("metrics")
        .add_batch_definition_whole_dataframe("run")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=SUITE_NAME))
    suite.add_expectation(gx.expectations.ExpectTableRowCountToEqual(value=len(metrics)))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="observed"))
    suite.add_expectation(
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(column_A="allowed", column_B="observed", or_equal=True)
    )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=SUITE_NAME, data=batch_definition, suite=suite)
    )
    result = validation.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["check_name"]},
    )
    failing = set()
    for r in result.results:
        for row in r.result.get("unexpected_index_list") or []:
            failing.add(row["check_name"])
        if not r.success and not r.result.get("unexpected_index_list"):
            failing.add(f"gx:{r.expectation_config.type}")  # the frame itself is wrong: fail closed
    checks = []
    for m in metrics:
        checks.append({
            "check": m["check_name"], "table": m["table_name"], "success": m["check_name"] not in failing,
            "observed": round(m["observed"], 6) if isinstance(m["observed"], float) else m["observed"],
            "allowed": m["allowed"], "detail": m["detail"],
        })
    failed = [c for c in checks if not c["success"]]
    return {
        "engine": f"great_expectations {gx.__version__}",
        "suite": SUITE_NAME,
        "success": bool(result.success) and not failed and not failing,
        "evaluated": len(checks),
        "failed": len(failed),
        "checks": checks,
    }


def failure_message(outcome: dict) -> str:
    failed = [c for c in outcome["checks"] if not c["success"]]
    if not failed:
        return "data validation passed"
    lines = [f"data validation failed ({len(failed)} of {outcome['evaluated']} checks):"]
    for c in failed:
        detail = c["detail"] or f"observed {c['observed']}, allowed {c['allowed']}"
        lines.append(f"  - {c['check']}: {detail}")
    return "\n".join(lines)
