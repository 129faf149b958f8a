"""A full re-resolution beside the incremental state (`bountyguard reresolve`): resolve the current
records incrementally, as the next run would, and in full, with the same stored model, and list the
records whose person differs. Both happen inside one transaction that is rolled back, so the DuckDB
file is left as it was; a difference means the incremental state has drifted from what the data says
(a bug to report), and the next run can be made full by deleting the row of identity_resolution_state."""
from __future__ import annotations

import logging
from typing import Any

import duckdb

from bountyguard.db import run_sql_file, sql_text
from bountyguard.identity.config import IdentityConfig
from bountyguard.identity.model import _run
from bountyguard.identity.resolve import resolve_persons

log = logging.getLogger("bountyguard.identity")


def compare_with_full(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> dict[str, Any]:
    """{"incremental": stats, "full": stats, "differences": [(record_type, record_id, incremental
    person, full person), ...]} (ids only). Leaves the database unchanged."""
    run_sql_file(con, "schema/identity.sql")  # (outside the transaction: a file without them gets them)
    _run(con, "BEGIN TRANSACTION")
    try:
        incremental = resolve_persons(con, config)
        _run(con, "CREATE OR REPLACE TEMP TABLE identity_incremental_persons AS "
                  "SELECT record_type, record_id, person_id FROM person_records")
        full = resolve_persons(con, config, full=True)
        differences = con.execute(sql_text("identity/person_differences.sql")).fetchall()
    finally:
        _run(con, "ROLLBACK")
    log.info("reresolve: %d records, %s resolution scored %d touched; full resolution: %d records differ",
             full["records"], incremental["resolution"], incremental["touched_records"], len(differences))
    return {"incremental": incremental, "full": full, "differences": differences}
