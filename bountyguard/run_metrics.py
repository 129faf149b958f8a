"""Run metrics an ops engineer reads without opening DuckDB.

Per run, in the table `run_metrics` (sql/schema/run_metrics.sql): rows in / loaded / rejected /
quarantined per table, the validation outcome, flags per pattern, decisions per kind, money released,
held and clawed back per currency (sql/metrics/run_outcome.sql), and each step's wall time and peak
memory. The same numbers go to report.json (`run_metrics`), to `bountyguard runs list` / `runs show`,
and, in Airflow, to its Stats (StatsD or OpenTelemetry, when `[metrics] statsd_on` / `otel_on` is set)
as gauges `bountyguard.<metric>.<key>`.

A step's peak memory is the peak resident size of the process that ran it (`ru_maxrss`): exact per
step in Airflow, where every task is its own process; in `bountyguard run`, all steps share one
process, so a step's figure is the peak so far.
"""
from __future__ import annotations

import functools
import resource
import statistics
import time
from pathlib import Path

from bountyguard.db import connect, sql_text

STEP_METRICS = ("step_seconds", "step_peak_memory_mb")
# what the unusual-results alert compares with the history of clean runs
WATCHED = ("flags", "money_held")


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def record_step(db: str | Path, run_id: str, step: str, seconds: float, memory_mb: float) -> None:
    con = connect(db)
    try:
        con.execute("DELETE FROM run_metrics WHERE run_id = ? AND metric IN ? AND key = ?",
                    [run_id, list(STEP_METRICS), step])
        con.executemany("INSERT INTO run_metrics VALUES (?, ?, ?, ?)",
                        [[run_id, "step_seconds", step, round(seconds, 3)],
                         [run_id, "step_peak_memory_mb", step, round(memory_mb, 1)]])
    finally:
        con.close()


def measured(step: str):
    """Decorate a pipeline step `f(db, run_id, ...)`: record its duration and peak memory when it returns."""
    def wrap(function):
        @functools.wraps(function)
        def run(db, run_id, *args, **kwargs):
            started = time.perf_counter()
            result = function(db, run_id, *args, **kwargs)
            record_step(db, run_id, step, time.perf_counter() - started, peak_memory_mb())
            return result
        return run
    return wrap


def record_outcome(con, run_id: str) -> None:
    """(Re)compute the run's outcome metrics from its tables, in the connection that publishes it."""
    con.execute("DELETE FROM run_metrics WHERE run_id = ? AND metric NOT IN ?", [run_id, list(STEP_METRICS)])
    con.execute(f"INSERT INTO run_metrics SELECT $run_id, metric, key, value FROM ({sql_text('metrics/run_outcome.sql')})",
                {"run_id": run_id})


def read(con, run_id: str) -> dict[str, dict[str, float]]:
    """{metric: {key: value}} of one run."""
    out: dict[str, dict[str, float]] = {}
    for metric, key, value in con.execute(
            "SELECT metric, key, value FROM run_metrics WHERE run_id = ? ORDER BY metric, key", [run_id]).fetchall():
        out.setdefault(metric, {})[key] = int(value) if float(value).is_integer() and not metric.startswith(
            "step_") else value
    return out


def totals(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    return {m: sum(metrics.get(m, {}).values()) for m in WATCHED}


def unusual(con, run_id: str, settings: dict) -> dict:
    """The watched totals of this run that exceed `unusual_factor` x the median of the earlier clean
    runs (at most `history_runs`, at least `min_history_runs`, else nothing is compared)."""
    current = totals(read(con, run_id))
    earlier = [r for (r,) in con.execute(
        "SELECT run_id FROM runs WHERE status = 'clean' AND run_id <> ? AND started_at < "
        "(SELECT started_at FROM runs WHERE run_id = ?) ORDER BY started_at DESC LIMIT ?",
        [run_id, run_id, settings["history_runs"]]).fetchall()]
    if len(earlier) < settings["min_history_runs"]:
        return {}
    found = {}
    for name in WATCHED:
        median = statistics.median(totals(read(con, r))[name] for r in earlier)
        if current[name] > settings["unusual_factor"] * max(median, 1):
            found[name] = {"this_run": current[name], "median_of_history": median, "runs_compared": len(earlier)}
    return found


def emit_to_stats(metrics: dict[str, dict[str, float]]) -> int:
    """Send every metric as a gauge through Airflow's Stats (a no-op unless Airflow's [metrics] turns
    StatsD or OpenTelemetry on). Returns how many gauges were sent."""
    from airflow.sdk.observability.stats import Stats, normalize_name_for_stats

    n = 0
    for metric, values in metrics.items():
        for key, value in values.items():
            Stats.gauge(normalize_name_for_stats(f"bountyguard.{metric}.{key}"), value)
            n += 1
    return n


def runs_overview(con, limit: int = 20) -> list[dict]:
    """The newest runs first, with the few numbers `runs list` prints."""
    rows = con.execute(
        "SELECT run_id, as_of, step, status, started_at FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
        [limit]).fetchall()
    out = []
    for run_id, as_of, step, status, started_at in rows:
        m = read(con, run_id)
        out.append({
            "run_id": run_id, "as_of": as_of.isoformat(), "status": status or f"({step})",
            "started_at": started_at.isoformat(sep=" ", timespec="seconds"),
            "seconds": round(sum(m.get("step_seconds", {}).values()), 1),
            "peak_memory_mb": max(m.get("step_peak_memory_mb", {}).values(), default=0),
            "rows_rejected": sum(m.get("rows_rejected", {}).values()),
            "rows_quarantined": sum(m.get("rows_quarantined", {}).values()),
            "flags": sum(m.get("flags", {}).values()),
            "decisions": m.get("decisions", {}),
            "money_released": m.get("money_released", {}),
            "money_held": m.get("money_held", {}),
        })
    return out


def watch(db: str | Path, run_id: str) -> dict:
    """After a run is published, in Airflow: send its metrics to Airflow's Stats and return what is
    unusual about it (see `unusual`; the caller raises the alert)."""
    import json

    from bountyguard.config import load_config

    con = connect(db, read_only=True)
    try:
        metrics = read(con, run_id)
        config = json.loads(con.execute("SELECT config_json FROM runs WHERE run_id = ?", [run_id]).fetchone()[0])
        # a run recorded before [alerts] existed is compared with the current defaults
        found = unusual(con, run_id, config.get("alerts") or load_config()["alerts"])
    finally:
        con.close()
    emit_to_stats(metrics)
    return found
