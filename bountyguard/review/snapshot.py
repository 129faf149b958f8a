"""The case-review snapshot of a published run: Parquet files in `<published run>/review/`.

The publish step (report.publish_report) writes them from the run's own tables with the SQL models
of sql/review/, inside the same atomic publish as the report, so the app reads a run's complete,
immutable picture and never opens the working DuckDB file (one process per file: a screening run
holds it). They carry personal data (names, e-mails, phones, IBANs) for the case page; they are not
part of report_sha256 or of the contract's exports, and readable by their owner only (the app runs as
the user who publishes), like the release batch.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from bountyguard import models

FOLDER = "review"
# file name -> the model that fills it
TABLES = {
    "flags": "review_flags",
    "payouts": "review_payouts",
    "cases": "review_cases",
    "records": "review_records",
    "links": "review_links",
    "timeline": "review_timeline",
}


def write_snapshot(con: duckdb.DuckDBPyConnection, run_id: str, folder: Path, config: dict) -> Path:
    """Build the review models for `run_id` on a connection that entered the run, and write them."""
    out = Path(folder) / FOLDER
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    # the features they read (stints, referral_facts) are the run's, built by its detect step, as
    # the decide step reads them: rebuilding them here cost a full build per publish
    models.build(con, list(TABLES.values()), config=config, params={"run_id": run_id}, upstream=False)
    for name, model in TABLES.items():
        path = out / (name + ".parquet")
        con.execute(f"COPY {model} TO '{path}' (FORMAT parquet)")
        path.chmod(0o600)
    return out


def open_snapshot(run_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per snapshot file of a published run."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in TABLES:
        path = Path(run_dir) / FOLDER / f"{name}.parquet"
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return con


def has_snapshot(run_dir: Path) -> bool:
    return all((Path(run_dir) / FOLDER / f"{name}.parquet").exists() for name in TABLES)
