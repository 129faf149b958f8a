"""The steps of a screening run, called alike by the CLI and by the Airflow DAG's tasks.

start_run -> ingest -> validate -> detect -> decide -> publish. Each step opens the DuckDB file,
does its work in SQL and closes it, so each Airflow task can run in its own process. Every layer is a
function of (inputs, configuration, as-of date): nothing reads the clock to decide anything.
Fail closed: a failed validation, or an error in any step, still publishes a report (not_clean or
failed) that holds every due payout, so a payout job never pays on doubtful data.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import duckdb

from bountyguard import validate as gate
from bountyguard.config import canonical_json, config_sha256, load_config
from bountyguard.contract import DECISIONS
from bountyguard import flag_versions, incremental, matching_keys, models, run_metrics, signing
from bountyguard.faults import checkpoint
from bountyguard.db import connect, run_sql_file
from bountyguard.errors import BountyguardError
from bountyguard.ingest import ingest_landing
from bountyguard.privacy import erase_forgotten
from bountyguard.report import assemble_report, publish_report, purge_expired_release_batches

log = logging.getLogger(__name__)

STEPS = ("started", "ingested", "validated", "detected", "decided", "published")


def _parse_as_of(as_of: str | dt.date) -> dt.date:
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise BountyguardError(f"--as-of {as_of!r}: not a date (expected YYYY-MM-DD)") from None


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    _version_copies(con)
    for schema in ("tables", "runs", "identity", "privacy", "run_metrics", "anomaly", "features"):
        run_sql_file(con, f"schema/{schema}.sql")
    _drop_primary_keys(con)
    # a file written while chained_stints was a table (every stint written again by every run; a view
    # over the kept stints and chains since)
    con.execute("DROP TABLE IF EXISTS main.chained_stints")


def _version_copies(con: duckdb.DuckDBPyConnection) -> None:
    """A file written when run_identities or flags was a table holding a copy of every record or flag
    per run gets its runs' persons and flags as versions (sql/schema/runs.sql), run by run in run
    order, once, in one transaction: killed halfway, the old tables are still whole. (Both tables are
    renamed before runs.sql makes the views that take their names.)"""
    old = {name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN ('run_identities', 'flags') "
        "AND table_type = 'BASE TABLE' AND table_schema = 'main'").fetchall()}
    if not old:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        for name in sorted(old):
            con.execute(f"ALTER TABLE {name} RENAME TO {name}_copies")
        run_sql_file(con, "schema/runs.sql")
        if "run_identities" in old:
            for (run_id,) in con.execute("SELECT DISTINCT run_id FROM run_identities_copies ORDER BY run_id").fetchall():
                _record_generation(con, run_id, "SELECT record_type, record_id, person_id FROM run_identities_copies "
                                                "WHERE run_id = '" + run_id.replace("'", "''") + "'")
        if "flags" in old:
            flag_versions.version_copies(con)
        for name in sorted(old):
            con.execute(f"DROP TABLE {name}_copies")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# Tables that lost their primary key: every row is inserted once by construction, and the key's index
# cost more than the work (identity_key_hashes: two thirds of caching a first load's keys, 14 of 21 s
# at 1M referrals; run_identities, before it became versions, sql/schema/runs.sql: deleting a run's
# 800,000 rows took 18 s).
_UNKEYED_TABLES = {"identity_key_hashes": "schema/identity.sql"}


def _drop_primary_keys(con: duckdb.DuckDBPyConnection) -> None:
    """A file written before those tables lost their primary keys gets each rebuilt without it, once,
    in one transaction: killed halfway, the old table is still whole."""
    for table, schema_file in _UNKEYED_TABLES.items():
        keyed = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
            [table]).fetchone()[0]
        if not keyed:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"ALTER TABLE {table} RENAME TO {table}_keyed")
            run_sql_file(con, schema_file)  # the one definition of the table, without the key
            con.execute(f"INSERT INTO {table} SELECT * FROM {table}_keyed")
            con.execute(f"DROP TABLE {table}_keyed")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


class _Run:
    """A run's identity and settings, read back from the `runs` table by every step."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: str):
        row = con.execute(
            "SELECT as_of, landing, config_json, config_sha256, step FROM runs WHERE run_id = ?", [run_id]
        ).fetchone()
        if row is None:
            raise BountyguardError(f"run {run_id!r} is not in this DuckDB file")
        self.run_id = run_id
        self.as_of, self.landing, config_json, self.config_sha256, self.step = row
        self.config = json.loads(config_json)

    def enter(self, con: duckdb.DuckDBPyConnection) -> None:
        """Give this connection the run's as-of view of the data."""
        models.enter_run(con, self.run_id, self.as_of)

    def mark(self, con: duckdb.DuckDBPyConnection, step: str) -> None:
        con.execute("UPDATE runs SET step = ? WHERE run_id = ?", [step, self.run_id])


def _open(db: str | Path, run_id: str) -> tuple[duckdb.DuckDBPyConnection, _Run]:
    con = connect(db)
    _ensure_schema(con)
    run = _Run(con, run_id)
    run.enter(con)
    return con, run


def pulls_root(db: str | Path) -> Path:
    db = Path(db)
    return db.parent / f"{db.stem}.pulls"


def start_run(db: str | Path, landing: str | Path | None, as_of: str | dt.date, config: str | Path | None = None,
              *, from_source: bool = False, overrides: dict | None = None) -> str:
    """Register a run: its landing folder, as-of date and configuration. Returns the run id.
    With `from_source`, the landing folder is the increment that `pull` will write for this run."""
    as_of_date = _parse_as_of(as_of)
    if not from_source:
        landing = Path(landing)
        if not landing.is_dir():
            raise BountyguardError(f"--landing {landing}: not a folder")
    cfg = load_config(config, overrides)
    # a run whose report cannot be signed could never be paid from, and one without a matching key
    # cannot resolve identities without storing contact data in clear: refuse before any work
    signing.signing_key_id()
    matching_keys.current_key()
    con = connect(db)
    try:
        _ensure_schema(con)
        n = con.execute("SELECT count(*) FROM runs WHERE as_of = ?", [as_of_date]).fetchone()[0]
        run_id = f"{as_of_date:%Y%m%d}-{n + 1:03d}"
        if from_source:
            landing = pulls_root(db) / run_id
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, now(), NULL, 'started', NULL)",
            [run_id, as_of_date, str(landing.resolve()), canonical_json(cfg), config_sha256(cfg)],
        )
    finally:
        con.close()
    log.info("run %s registered (as of %s)", run_id, as_of_date)
    return run_id


@run_metrics.measured("pull")
def pull(db: str | Path, run_id: str, source_uri: str) -> dict:
    """Pull the rows changed since the last watermarks from the platform's PostgreSQL database into
    this run's landing folder. The new watermarks are only proposed here: `ingest` saves them in the
    transaction that loads the rows, so a run that fails before that pulls the same rows again."""
    from bountyguard.source_postgres import describe_source, pull_increment, read_watermarks

    con, run = _open(db, run_id)
    try:
        watermarks = read_watermarks(con, source_uri)
        result = pull_increment(source_uri, Path(run.landing), watermarks, run.as_of)
        con.execute("DELETE FROM pending_watermarks WHERE run_id = ?", [run_id])
        con.execute("INSERT INTO pending_watermarks VALUES (?, ?, ?)",
                    [run_id, describe_source(source_uri), canonical_json(result.new_watermarks)])
        log.info("pulled %s: %s", result.source, result.rows)
        return {"source": result.source, "rows": result.rows, "landing": str(result.landing)}
    finally:
        con.close()


@run_metrics.measured("ingest")
def ingest(db: str | Path, run_id: str) -> dict:
    """Load the landing folder into the current-state tables; every row loaded or rejected."""
    from bountyguard.source_postgres import save_watermarks

    con, run = _open(db, run_id)
    try:
        con.execute("BEGIN TRANSACTION")
        # a retried ingest starts over: its own earlier rejects and counts would double up
        con.execute("DELETE FROM rejects WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM load_stats WHERE run_id = ?", [run_id])
        checkpoint("ingest.started")
        stats = ingest_landing(con, run_id, Path(run.landing))
        # what `bountyguard forget` erased stays erased, whatever old file this run loaded
        erase_forgotten(con, run_id)
        # A run loaded again after a later run built on its rows (an operator cleared its tasks):
        # the rows it stamped now are new, but the kept state counts this run as seen, so the next
        # run checks and builds in full (sql/incremental/).
        for state in ("quarantine_state", "feature_state"):
            con.execute(f"DELETE FROM {state} WHERE list_contains(loaded_runs, ?)", [run_id])
        pending = con.execute("SELECT source, watermarks FROM pending_watermarks WHERE run_id = ?", [run_id]).fetchone()
        if pending:
            save_watermarks(con, run_id, pending[0], json.loads(pending[1]))
        run.mark(con, "ingested")
        checkpoint("ingest.before_commit")
        con.execute("COMMIT")
        checkpoint("ingest.committed")
        return stats
    finally:
        con.close()


@run_metrics.measured("validate")
def validate(db: str | Path, run_id: str) -> dict:
    """Run the data-quality gate. On failure, the run is finished closed right here: a not_clean
    report holding every due payout is published before this returns."""
    con, run = _open(db, run_id)
    try:
        metrics = gate.collect_metrics(con, run_id, run.config)
        for m in metrics:
            if m["detail"] and run.landing:
                m["detail"] = m["detail"].replace(run.landing + "/", "")  # digest must not depend on the folder's location
        outcome = gate.run_gate(metrics)
        checkpoint("validate.checked")
        con.execute("DELETE FROM validation_results WHERE run_id = ?", [run_id])
        con.executemany(
            "INSERT INTO validation_results VALUES (?, ?, ?, ?, ?, ?)",
            [[run_id, c["check"], c["table"], c["success"], None if isinstance(c["observed"], float) else c["observed"],
              c["detail"]] for c in outcome["checks"]],
        )
        checkpoint("validate.results_written")
        run.mark(con, "validated")
    finally:
        con.close()
    outcome["message"] = gate.failure_message(outcome)
    if not outcome["success"]:
        log.error("%s", outcome["message"])
        _finish_closed(db, run_id, status="not_clean")
    return outcome


def _validation_outcome(con, run_id: str) -> dict | None:
    rows = con.execute(
        "SELECT check_name, table_name, success, observed, detail FROM validation_results WHERE run_id = ? "
        "ORDER BY table_name, check_name", [run_id]
    ).fetchall()
    if not rows:
        return None
    checks = [{"check": c, "table": t, "success": s, "observed": o, "detail": d} for c, t, s, o, d in rows]
    failed = [c for c in checks if not c["success"]]
    return {"success": not failed, "evaluated": len(checks), "failed": len(failed),
            "failed_checks": [{k: c[k] for k in ("check", "table", "detail")} for c in failed]}


@run_metrics.measured("detect")
def detect(db: str | Path, run_id: str) -> dict:
    """Resolve persons, build stints, run every detector; store the run's flags."""
    from bountyguard.identity import IdentityConfig, resolve_persons
    from detectors import build_detectors

    con, run = _open(db, run_id)
    try:
        detectors = build_detectors(run.config)
        # the features every detector reads, built once in dependency order (detectors build nothing)
        features = sorted({m for d in detectors for m in d.required_models()})
        # before anything changes persons: the kept feature tables are this run's work from here on
        base = incremental.start(con, run_id, run.as_of, features, run.config)
        identity_stats = resolve_persons(con, IdentityConfig.from_config(run.config))
        checkpoint("identity.resolved")
        _record_identities(con, run_id)
        checkpoint("identity.recorded")
        # the kept feature tables only where their inputs changed since the run that built them
        rebuilt = incremental.build(con, features, run.config, run_id, run.as_of, base)
        incremental.finish(con, run_id, run.as_of, base, features, run.config)
        checkpoint("detect.features_built")
        generation = flag_versions.open_generation(con, run_id)
        counts = {}
        carried = {}
        for detector in detectors:
            counts[detector.pattern], carried[detector.pattern] = _flag(con, run_id, generation, detector, base)
            log.info("detector %s: %d flags%s", detector.pattern, counts[detector.pattern],
                     f" ({carried[detector.pattern]:,} carried from run {base['base_run_id']})"
                     if carried[detector.pattern] is not None else "")
            checkpoint(f"detect.flagged.{detector.pattern}")
        flag_versions.close(con, generation, list(counts))
        run.mark(con, "detected")
        anomaly = [d.stats_ for d in detectors if d.pattern == "anomaly"]
        return {"flags": counts, "identity": identity_stats, "anomaly": anomaly[0] if anomaly else None,
                "features": "full" if rebuilt is None else "incremental", "features_rebuilt": rebuilt,
                "flags_carried": {p: n for p, n in carried.items() if n is not None}}
    finally:
        con.close()


def _flag(con, run_id: str, generation: int, detector, base: dict | None) -> tuple[int, int | None]:
    """Run one detector and store its rows as the run's flags of its pattern (flag_versions.store);
    returns how many the run holds, and how many of them are the base run's, carried (None: none
    could be, all were computed)."""
    import pyarrow as pa

    from detectors.base import FLAG_COLUMNS, SqlRuleDetector

    scope = None
    if isinstance(detector, SqlRuleDetector):
        # a rule's rows go from its query to the flags without a trip through Python
        query, params = detector.flag_query()
        fingerprint = incremental.rule_fingerprint(detector.pattern, query, params)
        scope = incremental.rule_scope(con, detector.pattern, detector.flags_follow, fingerprint, base)
        if scope is None:
            con.execute(f"CREATE OR REPLACE TEMP TABLE detected_flags AS {query}", params or None)
        else:
            # only the flags of the scope's keys (the rule reads only their rows where it calls
            # in_build_scope); the others are the base run's, and stay current
            keys, key, column = scope
            with models.build_scope(con, key, keys):
                con.execute(f"CREATE OR REPLACE TEMP TABLE detected_flags AS SELECT * FROM ({query}) "
                            f"WHERE {column} IN (SELECT {key} FROM {keys})", params or None)
    else:
        rows = detector.detect(con, base=base) if detector.follows_features else detector.detect(con)
        # one columnar insert, not a statement per flag (tens of thousands at scale)
        con.register("detector_rows", pa.table({name: [r[i] for r in rows] for i, name in enumerate(FLAG_COLUMNS)})
                     if rows else pa.table({name: pa.array([], pa.string()) for name in FLAG_COLUMNS}))
        con.execute("CREATE OR REPLACE TEMP TABLE detected_flags AS SELECT entity_type, entity_id, person_id, "
                    "CAST(score AS DOUBLE) AS score, severity, evidence FROM detector_rows")
        con.unregister("detector_rows")
    try:
        total = flag_versions.store(con, generation, detector.pattern, scope)
        if isinstance(detector, SqlRuleDetector) and detector.flags_follow:
            incremental.record_rule(con, run_id, detector.pattern, fingerprint)
        detected = con.execute("SELECT count(*) FROM detected_flags").fetchone()[0]
        return total, (total - detected if scope is not None else None)
    finally:
        con.execute("DROP TABLE detected_flags")


@run_metrics.measured("decide")
def decide(db: str | Path, run_id: str) -> dict:
    """Decide every due payout (and clawbacks of released ones) from the run's flags."""
    con, run = _open(db, run_id)
    try:
        outcome = _validation_outcome(con, run_id)
        return _decide(con, run, closed_reason=None if outcome and outcome["success"] else "data_not_clean")
    finally:
        con.close()


def _decide(con, run: _Run, closed_reason: str | None) -> dict:
    """`closed_reason`: None for a run whose data passed validation, else the reason code that holds
    every due payout (data_not_clean, run_failed)."""
    from bountyguard.ledger import stage_decision_inputs

    stage_decision_inputs(con, run.run_id)
    checkpoint("decide.inputs_staged")
    models.build(con, ["payouts_with_bad_rows"], params={"run_id": run.run_id})
    cfg = run.config["decisions"]
    con.execute("DELETE FROM payout_decisions WHERE run_id = ?", [run.run_id])
    sql, params = models.query("new_payout_decisions", params={
        "run_id": run.run_id,
        "closed_reason": closed_reason,
        "hold_severities": list(cfg["hold_severities"]),
        "not_owed_patterns": list(cfg["not_owed_patterns"]),
        "clawback_patterns": list(cfg["clawback_patterns"]),
    })
    con.execute(f"INSERT INTO payout_decisions SELECT $run_id, payout_id, decision, reasons FROM ({sql})",
                {**params, "run_id": run.run_id})
    checkpoint("decide.decisions_written")
    run.mark(con, "decided")
    counts = {d: 0 for d in DECISIONS}
    counts.update(con.execute(
        "SELECT decision, count(*) FROM payout_decisions WHERE run_id = ? GROUP BY decision", [run.run_id]
    ).fetchall())
    return counts


@run_metrics.measured("publish")
def publish(db: str | Path, run_id: str, status: str | None = None) -> dict:
    """Write the report (with its digest) into the DuckDB file and publish it for readers."""
    con, run = _open(db, run_id)
    try:
        outcome = _validation_outcome(con, run_id)
        if status is None:
            status = "clean" if outcome and outcome["success"] else "not_clean"
        return _publish(con, db, run, status, outcome)
    finally:
        con.close()


def _publish(con, db, run: _Run, status: str, outcome: dict | None, error: str | None = None) -> dict:
    """Assemble the run's report (report.py), publish it atomically for readers and record it."""
    if status != "clean":
        # belt and braces: whatever a step decided, a report that is not clean releases nothing
        code = "run_failed" if status == "failed" else "data_not_clean"
        con.execute(
            "UPDATE payout_decisions SET decision = 'hold', reasons = ? WHERE run_id = ? AND decision = 'release'",
            [code, run.run_id])
    report, decisions = assemble_report(con, db, run, status, outcome, error)
    run_metrics.record_outcome(con, run.run_id)
    report["run_metrics"] = run_metrics.read(con, run.run_id)  # outside the digest: it has wall times
    published = publish_report(con, db, run.run_id, run.as_of, report, decisions)
    purge_expired_release_batches(db, run.as_of, run.config["payouts"]["release_batch_retention_days"])
    con.execute("DELETE FROM reports WHERE run_id = ?", [run.run_id])
    con.execute("INSERT INTO reports VALUES (?, ?, ?, ?)",
                [run.run_id, status, report["report_sha256"], json.dumps(report, sort_keys=True)])
    checkpoint("publish.recorded")
    con.execute("UPDATE runs SET step = 'published', status = ?, finished_at = now() WHERE run_id = ?",
                [status, run.run_id])
    _prune_old_runs(con, run)
    return {
        "run_id": run.run_id,
        "status": status,
        "report_path": str(published / "report.json"),
        "published_dir": str(published),
        "report_sha256": report["report_sha256"],
        "flag_counts": report["flag_counts"],
        "decision_counts": report["decision_counts"],
        "tables": report["tables"],
        "validation": report["validation"],
        "rejects_sample": report["rejects_sample"],
        "quarantine_sample": report["quarantine_sample"],
    }


def _prune_old_runs(con, run: _Run) -> None:
    """Retention: older runs' flags and identities leave the file once published (their published
    folders keep them); CHECKPOINT lets DuckDB reuse the freed blocks instead of growing the file."""
    # a run registered by an older version has no [retention] in its stored configuration
    retention = run.config.get("retention") or load_config()["retention"]
    run_sql_file(con, "maintenance/prune_runs.sql", {
        "run_id": run.run_id,
        "keep_flags_runs": retention["keep_flags_runs"],
        "keep_identities_runs": retention["keep_identities_runs"],
    })
    con.execute("CHECKPOINT")


def _finish_closed(db, run_id: str, status: str, error: str | None = None) -> dict:
    """Publish a report that releases nothing: every due payout held (voids and clawbacks that the
    data still supports are kept), flags where the detectors could still run."""
    con = connect(db)
    try:
        _ensure_schema(con)
        run = _Run(con, run_id)
        run.enter(con)
        outcome = _validation_outcome(con, run_id)
    finally:
        con.close()
    try:
        detect(db, run_id)
    except Exception as exc:  # the data may be too broken to screen; the holds below still stand
        log.warning("detectors could not run on this data (%s); every due payout is held", type(exc).__name__)
        con = connect(db)
        try:
            run = _Run(con, run_id)
            run.enter(con)
            flag_versions.drop_run(con, run_id)
            _fallback_persons(con)
            # identities.csv lists them: a run that failed before its identity resolution (or in it)
            # still publishes every record's person
            _record_identities(con, run_id)
        finally:
            con.close()
    con, run = _open(db, run_id)
    try:
        _decide(con, run, closed_reason="run_failed" if status == "failed" else "data_not_clean")
        return _publish(con, db, run, status, outcome, error)
    finally:
        con.close()


def _record_identities(con, run_id: str) -> None:
    """The run's persons, as identities.csv exports them and the next run compares them: the next
    generation of record_person_versions (sql/identity/run_identities.sql), in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        _record_generation(con, run_id, "SELECT record_type, record_id, person_id FROM person_records")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _record_generation(con, run_id: str, persons: str) -> None:
    """Record `persons` (a query of record_type, record_id, person_id) as run_id's generation."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW identities_to_record AS {persons}")
    run_sql_file(con, "identity/run_identities.sql", {"run_id": run_id})
    con.execute("DROP VIEW identities_to_record")


def _fallback_persons(con) -> None:
    """Each record its own person: enough to decide holds when identity resolution could not run."""
    incremental.forget(con)
    run_sql_file(con, "identity/fallback_persons.sql")
    models.build(con, ["stints", "referral_facts"])


def fail_run(db: str | Path, run_id: str, error: str) -> dict | None:
    """After an error in any step: publish a `failed` report holding every due payout."""
    try:
        return _finish_closed(db, run_id, status="failed", error=error)
    except Exception:  # the run is already failing loudly; the previous LATEST report stays in place
        log.exception("could not publish the failed report of run %s", run_id)
        return None


def run(landing: str | Path | None, db: str | Path, as_of: str | dt.date, config: str | Path | None = None,
        *, source: str | None = None, overrides: dict | None = None) -> dict:
    """All steps in one process (the CLI's `run`), from a landing folder or, with `source`, from the
    platform's PostgreSQL database. Returns publish()'s summary."""
    run_id = start_run(db, landing, as_of, config, from_source=source is not None, overrides=overrides)
    try:
        if source is not None:
            pull(db, run_id, source)
        ingest(db, run_id)
        outcome = validate(db, run_id)
        if not outcome["success"]:
            con = connect(db, read_only=False)
            try:
                summary = _summary_from_reports(con, db, run_id)
            finally:
                con.close()
            summary["message"] = outcome["message"]
            return summary
        detect(db, run_id)
        decide(db, run_id)
        return publish(db, run_id)
    except BountyguardError:
        fail_run(db, run_id, "the run stopped on an error; see the log")
        raise
    except Exception as exc:
        fail_run(db, run_id, f"{type(exc).__name__} in the pipeline")
        raise


def _summary_from_reports(con, db, run_id: str) -> dict:
    from bountyguard.report import published_root

    status, sha, report_json = con.execute(
        "SELECT status, report_sha256, report_json FROM reports WHERE run_id = ?", [run_id]).fetchone()
    report = json.loads(report_json)
    published = published_root(db) / run_id
    return {
        "run_id": run_id, "status": status, "report_sha256": sha,
        "report_path": str(published / "report.json"), "published_dir": str(published),
        "flag_counts": report["flag_counts"], "decision_counts": report["decision_counts"],
        "tables": report["tables"], "validation": report["validation"],
        "rejects_sample": report["rejects_sample"], "quarantine_sample": report.get("quarantine_sample", []),
    }
