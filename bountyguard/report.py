"""The published report: its digest, where it is published, and how a reader verifies it.

A run works inside the DuckDB file; readers (the payout job, analysts' tools) never open that working
file. `publish` copies a finished run's report and exports into `<db stem>.published/<run_id>/`
atomically (write a temporary folder, then rename) and then moves the `LATEST` pointer, so a reader
sees either the previous complete report or the new complete one, never a half-written run.

report_sha256 is a keyed signature (HMAC-SHA256, `signing.py`) over the whole report and every decision, except what varies between identical runs
(the run id and the Data Docs path; no wall-clock time is in the report): the as-of date, the status,
the digest of the input state, the configuration and its digest, the validation outcome, row counts,
flag and decision counts, the release batch's hash, and each (payout, decision, reasons). A reader recomputes it from
the published files with the key named by `report_key_id`, so a report edited after publishing is refused
even when the editor recomputed every plain hash.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

import duckdb

from bountyguard import signing
from bountyguard.config import canonical_json, config_sha256
from bountyguard.errors import BountyguardError, ReportIntegrityError
from bountyguard.faults import checkpoint

log = logging.getLogger(__name__)

# Everything in report.json is covered except these: the digest itself, the run id and the Data Docs
# path (both name the run, and identical runs must give identical digests), and the run metrics
# (bountyguard/run_metrics.py: they carry each step's wall time and memory).
NOT_DIGESTED = ("report_sha256", "run_id", "data_docs", "run_metrics")
# What the payment step needs to pay a `release` decision; covered by the digest through its file hash.
RELEASE_BATCH_FILE = "release_batch.csv"
RELEASE_BATCH_COLUMNS = ["payout_id", "referrer_id", "amount", "currency", "payee_iban"]
DECISION_COLUMNS = ["payout_id", "decision", "reasons", "run_id", "report_sha256"]


def _signed_body(report: dict, decisions: Iterable[tuple[str, str, str]]) -> bytes:
    """The whole report but NOT_DIGESTED (report_key_id included) and the (payout_id, decision, reasons) triples."""
    body = {field: value for field, value in report.items() if field not in NOT_DIGESTED}
    body["decisions"] = sorted([str(p), str(d), str(r or "")] for p, d, r in decisions)
    return canonical_json(body).encode()


def compute_report_sha256(report: dict, decisions: Iterable[tuple[str, str, str]]) -> str:
    """The report's signature under the key its `report_key_id` names."""
    return signing.sign(_signed_body(report, decisions), str(report.get("report_key_id")))


def sign_report(report: dict, decisions: Iterable[tuple[str, str, str]]) -> str:
    """Name the current signing key in the report and sign it (sets report_key_id and report_sha256)."""
    report["report_key_id"] = signing.signing_key_id()
    report["report_sha256"] = compute_report_sha256(report, decisions)
    return report["report_sha256"]


def published_root(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.published"


def latest_published(db_path: str | Path) -> Path | None:
    """The folder of the newest published report, or None when nothing was published yet."""
    root = published_root(db_path)
    pointer = root / "LATEST"
    if not pointer.exists():
        return None
    run_dir = root / pointer.read_text(encoding="utf-8").strip()
    if not run_dir.is_dir():
        raise BountyguardError(f"{pointer}: points to {run_dir.name}, which does not exist")
    return run_dir


def publish_folder(db_path: str | Path, run_id: str, write_files, as_of: str | None = None) -> Path:
    """Create the published folder of `run_id` atomically; `write_files(tmp_dir)` fills it. The
    `LATEST` pointer moves to it unless the current latest report is for a later as-of date: a
    backfill or a rerun of an earlier day never becomes the report that payouts are paid from."""
    root = published_root(db_path)
    root.mkdir(parents=True, exist_ok=True)
    # A publisher killed while writing leaves a hidden temporary folder (readers skip dot-names).
    # Only one process publishes at a time (it holds the DuckDB file's lock), so any such folder is
    # a dead publisher's and goes.
    for stale in root.glob(".*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        elif stale.name.startswith(".LATEST."):
            stale.unlink(missing_ok=True)
    final = root / run_id
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=root))
    try:
        write_files(tmp)
        checkpoint("publish.files_written")
        if final.exists():  # a re-published run (a retried publish task) replaces its own folder
            shutil.rmtree(final)
        os.rename(tmp, final)
        checkpoint("publish.folder_renamed")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    current = latest_published(db_path) if (root / "LATEST").exists() else None
    if current is not None and as_of is not None and current.name != run_id:
        try:
            current_as_of = json.loads((current / "report.json").read_text(encoding="utf-8")).get("as_of", "")
        except (OSError, json.JSONDecodeError):
            current_as_of = ""  # an unreadable latest report is replaced, never trusted
        if str(current_as_of) > str(as_of):
            return final
    pointer_tmp = root / f".LATEST.{run_id}"
    pointer_tmp.write_text(run_id + "\n", encoding="utf-8")
    os.replace(pointer_tmp, root / "LATEST")
    checkpoint("publish.latest_moved")
    return final


def purge_expired_release_batches(db_path: str | Path, as_of, retention_days: int) -> list[str]:
    """Delete the release batch (payees' IBANs) of every published run whose as-of date is more than
    `retention_days` before `as_of`, except the one LATEST points to. Returns the run ids purged."""
    import datetime as dt

    root = published_root(db_path)
    latest = (root / "LATEST").read_text(encoding="utf-8").strip() if (root / "LATEST").exists() else None
    cutoff = (as_of - dt.timedelta(days=retention_days)).isoformat()
    purged = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []:
        batch = folder / RELEASE_BATCH_FILE
        if folder.name == latest or not batch.exists():
            continue
        try:
            run_as_of = json.loads((folder / "report.json").read_text(encoding="utf-8"))["as_of"]
        except (OSError, ValueError, KeyError):
            continue
        if str(run_as_of) < cutoff:
            batch.unlink()
            purged.append(folder.name)
    return purged


def read_decisions(run_dir: Path) -> list[dict]:
    with open(run_dir / "payout_decisions.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_verified_report(run_dir: str | Path) -> tuple[dict, list[dict], list[dict]]:
    """Read a published report, its decisions and its release batch; refuse them if anything does
    not match report_sha256."""
    run_dir = Path(run_dir)
    try:
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        decisions = read_decisions(run_dir)
        batch_path = run_dir / RELEASE_BATCH_FILE
        if not batch_path.exists() and (run_dir / "report.json").exists():
            raise ReportIntegrityError(
                f"{batch_path}: missing (a release batch is deleted after its retention, "
                "[payouts] release_batch_retention_days, or was removed by hand): this report pays nothing")
        with open(batch_path, newline="", encoding="utf-8") as f:
            batch = list(csv.DictReader(f))
        batch_sha = file_sha256(batch_path)
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportIntegrityError(f"{run_dir}: published report unreadable ({exc})") from None
    claimed = report.get("report_sha256")
    key_id = report.get("report_key_id")
    if not key_id:
        raise ReportIntegrityError(
            f"{run_dir / 'report.json'}: the report names no signing key (report_key_id): it is unsigned "
            "or was changed after it was published; nothing is paid")
    if key_id not in signing.accepted_key_ids():
        raise ReportIntegrityError(
            f"{run_dir / 'report.json'}: signed with key {key_id!r}, which is not an accepted key in "
            f"{signing.KEYS_ENV} ({', '.join(signing.accepted_key_ids())}): retired or forged; nothing is paid")
    if batch_sha != report.get("release_batch_sha256"):
        raise ReportIntegrityError(
            f"{run_dir / RELEASE_BATCH_FILE}: content does not match release_batch_sha256 in "
            "report.json: the release batch was changed after it was published; nothing is paid"
        )
    body = _signed_body(report, ((d["payout_id"], d["decision"], d["reasons"]) for d in decisions))
    if not signing.matches(claimed, body, key_id):
        raise ReportIntegrityError(
            f"{run_dir / 'report.json'}: the signature report_sha256 {claimed} does not verify under key "
            f"{key_id!r}: the report or its decisions were changed after it was published; nothing is paid"
        )
    if report.get("run_id") != run_dir.name:
        raise ReportIntegrityError(
            f"{run_dir / 'report.json'}: run_id {report.get('run_id')!r} is not this report's folder "
            f"{run_dir.name!r}: the report was changed or moved after it was published; nothing is paid"
        )
    if "config" in report and config_sha256(report["config"]) != report.get("config_sha256"):
        raise ReportIntegrityError(
            f"{run_dir / 'report.json'}: the configuration does not match its config_sha256; nothing is paid"
        )
    stray = [d["payout_id"] for d in decisions
             if d.get("report_sha256") != claimed or d.get("run_id") != run_dir.name]
    if stray:
        first = next(d for d in decisions if d["payout_id"] == stray[0])
        raise ReportIntegrityError(
            f"{run_dir / 'payout_decisions.csv'}: {len(stray)} rows carry another report_sha256 or run_id "
            f"(first: payout {stray[0]}, run_id {first.get('run_id')!r}); nothing is paid"
        )
    released = {d["payout_id"] for d in decisions if d["decision"] == "release"}
    if {b["payout_id"] for b in batch} != released:
        raise ReportIntegrityError(
            f"{run_dir / RELEASE_BATCH_FILE}: does not list exactly the payouts decided release; nothing is paid"
        )
    return report, decisions, batch


def write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


# --- assembling and publishing a run's report -------------------------------------------------------

def assemble_report(con, db, run, status: str, outcome: dict | None, error: str | None = None
                    ) -> tuple[dict, list[tuple[str, str, str]]]:
    """The run's report.json content (without its digest) and its decisions, from the DuckDB file.
    `run` has run_id, as_of, landing, config and config_sha256."""
    from bountyguard import inputs_digest
    from bountyguard import validate as gate
    from bountyguard.contract import DECISIONS, PATTERNS

    tables = {
        t: {"file": Path(f).name if f else None, "rows_in": i, "rows_loaded": l, "rows_rejected": r, "problem": p}
        for t, f, i, l, r, p in con.execute(
            "SELECT table_name, source_file, rows_in, rows_loaded, rows_rejected, problem FROM load_stats "
            "WHERE run_id = ? ORDER BY table_name", [run.run_id]).fetchall()
    }
    quarantined = dict(con.execute(
        "SELECT table_name, count(DISTINCT record_key) FROM quarantine WHERE run_id = ? GROUP BY ALL",
        [run.run_id]).fetchall())
    for name, t in tables.items():
        t["rows_quarantined"] = quarantined.get(name, 0)
        if t["problem"] and run.landing:
            t["problem"] = t["problem"].replace(run.landing + "/", "")
    inputs = inputs_digest.current(con)
    inputs.append(("analyst_decisions", con.execute(
        "SELECT list([payout_id, decision, reasons_seen] ORDER BY payout_id) FROM run_analyst_decisions "
        "WHERE run_id = ?", [run.run_id]).fetchone()[0] or []))
    inputs.append(("paid_by_bountyguard", con.execute(
        "SELECT list(payout_id ORDER BY payout_id) FROM run_paid_payouts WHERE run_id = ?",
        [run.run_id]).fetchone()[0] or []))
    flag_counts = dict.fromkeys(PATTERNS, 0)
    for pattern, n in con.execute(
        "SELECT pattern, count(*) FROM flags WHERE run_id = ? GROUP BY pattern", [run.run_id]
    ).fetchall():
        flag_counts[pattern] = n
    decisions = con.execute(
        "SELECT payout_id, decision, reasons FROM payout_decisions WHERE run_id = ? ORDER BY payout_id", [run.run_id]
    ).fetchall()
    decision_counts = dict.fromkeys(DECISIONS, 0)
    for _, d, _ in decisions:
        decision_counts[d] += 1
    rejects = con.execute(
        "SELECT table_name, source_file, line, column_name, reason FROM rejects WHERE run_id = ? "
        "ORDER BY table_name, line, column_name, reason LIMIT 50", [run.run_id]).fetchall()
    report = {
        "run_id": run.run_id,
        "as_of": run.as_of.isoformat(),
        "status": status,
        "error": error,
        "tables": tables,
        "rejects_sample": [
            {"table": t, "file": Path(f).name, "line": ln, "column": c, "reason": r} for t, f, ln, c, r in rejects
        ],
        "quarantine_sample": [
            {"table": t, "key": k, "check": c} for t, k, c in con.execute(
                "SELECT table_name, record_key, check_name FROM quarantine WHERE run_id = ? "
                "ORDER BY table_name, record_key, check_name LIMIT 50", [run.run_id]).fetchall()
        ],
        "validation": outcome or {"success": False, "evaluated": 0, "failed": 0, "failed_checks": []},
        "flag_counts": flag_counts,
        "decision_counts": decision_counts,
        "inputs_sha256": hashlib.sha256(canonical_json(inputs).encode()).hexdigest(),
        "config_sha256": run.config_sha256,
        "config": run.config,
    }
    # the run's Great Expectations Data Docs page (outside the digest: its path names the run)
    page = gate.data_docs_page(db, run.run_id)
    report["data_docs"] = str(page.relative_to(Path(db).parent)) if page else None
    return report, decisions


def publish_report(con, db, run_id: str, as_of, report: dict, decisions: list[tuple[str, str, str]]) -> Path:
    """Write the release batch, report_sha256, the exports and report.json, and publish the folder
    atomically for readers (the payout job, `export`). Returns the published folder."""
    from bountyguard import export

    def write_files(folder: Path) -> None:
        # the release batch first: its hash is part of the digest that every exported row carries
        batch_path = folder / RELEASE_BATCH_FILE
        export.write_release_batch(con, run_id, batch_path)
        report["release_batch_sha256"] = file_sha256(batch_path)
        checkpoint("publish.batch_written")
        sign_report(report, decisions)
        export.write_run_exports(con, run_id, folder, report["report_sha256"])
        # the case-review snapshot (bountyguard/review/snapshot.py): outside the digest, like Data Docs
        # A run too broken to screen (a failed report) has no persons or stints to show: it is
        # published without a snapshot (the app says so) rather than not published, which would stop
        # its holds from reaching the payout job.
        from bountyguard.review.snapshot import write_snapshot
        try:
            write_snapshot(con, run_id, folder, report.get("config") or {})
        except duckdb.Error as exc:
            log.warning("run %s: no case-review snapshot (%s)", run_id, type(exc).__name__)
        write_json(folder / "report.json", report)

    return publish_folder(db, run_id, write_files, as_of=as_of.isoformat())
