"""`bountyguard forget`: erase a person's personal data while decisions, amounts and audit remain.

The erasure covers the current state (names, contact data, bank account, birth date, town, profile,
the IP and device of their referrals), identity resolution's normalised keys and cached values for
those records, and the release batches of superseded published runs. It is recorded in
`forgotten_records` (ids, who, why, when), and every later ingest erases the rows it loads of the
same records again, so a run over an old landing file does not bring the data back.

What stays, on purpose: ids, dates, amounts, flags (their evidence holds ids and dates only),
decisions, the published reports and their signatures, the ledger and the payment provider's
instructions (a payment made is a bookkeeping record). The newest published release batch stays
too: it is what a pending payment to this person is paid from.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from bountyguard import incremental, inputs_digest, matching_keys
from bountyguard.db import connect, run_sql_file
from bountyguard.errors import BountyguardError

log = logging.getLogger(__name__)
RECORD_TYPES = ("referrer", "candidate")


def erase_forgotten(con, loaded_run_id: str | None = None) -> None:
    """Erase the personal data of the forgotten records in the current state: all of them (`forget`),
    or those with a row the run `loaded_run_id` loaded (ingest calls this after its upserts, in its
    transaction): sql/privacy/forgotten_now.sql says why that is enough."""
    matching_keys.register(con)  # the key cache is found by the keyed hash of the raw value
    run_sql_file(con, "schema/identity.sql")  # (a file written by an older version lacks newer tables)
    run_sql_file(con, "privacy/forgotten_now.sql", {"run_id": loaded_run_id})
    if not con.execute("SELECT count(*) FROM forgotten_now").fetchone()[0]:
        return
    # the platform rows it blanks: those of these records (the kept inputs digest moves by them)
    referrers = "referrer_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'referrer')"
    candidates = "candidate_id IN (SELECT record_id FROM forgotten_now WHERE record_type = 'candidate')"
    with (inputs_digest.changing(con, "referrers", referrers),
          inputs_digest.changing(con, "candidates", candidates),
          inputs_digest.changing(con, "referrals", f"{referrers} OR {candidates}")):
        run_sql_file(con, "privacy/erase_forgotten.sql")
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if {"person_records", "person_links"} <= tables:
        run_sql_file(con, "privacy/erase_forgotten_identity.sql")


def forget(db: str | Path, by: str, reason: str, person: str | None = None, record: str | None = None) -> dict:
    """Forget one person (every record the newest run gave that person_id) or one record
    ('referrer:R1', 'candidate:K1'). Returns the records erased."""
    from bountyguard.report import purge_expired_release_batches
    from detectors.anomaly import forget_model

    if not (by or "").strip() or not (reason or "").strip():
        raise BountyguardError("forget: --by and --reason must not be empty (they are the audit trail)")
    if not Path(db).exists():
        raise BountyguardError(f"{db}: no such DuckDB file")
    con = connect(db)
    try:
        records = _records(con, person, record)
        con.execute("BEGIN TRANSACTION")
        for record_type, record_id in records:
            con.execute(
                "INSERT OR IGNORE INTO forgotten_records VALUES (?, ?, ?, ?, ?, ?)",
                [record_type, record_id, person, by.strip(), reason.strip(), dt.datetime.now(dt.timezone.utc)])
        erase_forgotten(con)
        # (a file written by an older version lacks some of the kept state's tables)
        for schema in ("identity", "anomaly", "features"):
            run_sql_file(con, f"schema/{schema}.sql")
        run_sql_file(con, "privacy/drop_kept_input.sql")
        incremental.forget(con)  # with the chains dropped, the next run builds the features in full
        forget_model(con)  # the kept anomaly model holds behaviour features per person: the next run fits
        con.execute("COMMIT")
        con.execute("CHECKPOINT")  # write the erasure into the database file, not only its WAL
    finally:
        con.close()
    # a superseded run's release batch holds payees' IBANs and is never paid from again
    purged = purge_expired_release_batches(db, dt.date.max, 0)
    log.info("forgot %d records (%s); %d superseded release batches deleted", len(records),
             ", ".join(f"{t}:{i}" for t, i in records), len(purged))
    return {"records": [f"{t}:{i}" for t, i in records], "release_batches_deleted": len(purged)}


def _records(con, person: str | None, record: str | None) -> list[tuple[str, str]]:
    if bool(person) == bool(record):
        raise BountyguardError("forget: give exactly one of --person PERSON_ID or --record TYPE:ID")
    if record:
        record_type, _, record_id = record.partition(":")
        if record_type not in RECORD_TYPES or not record_id:
            raise BountyguardError(f"forget: --record {record!r}: expected referrer:ID or candidate:ID")
        table, key = ("referrers", "referrer_id") if record_type == "referrer" else ("candidates", "candidate_id")
        if con.execute(f"SELECT count(*) FROM {table} WHERE {key} = ?", [record_id]).fetchone()[0] == 0:
            raise BountyguardError(f"forget: no {record_type} record {record_id!r} in {table}")
        return [(record_type, record_id)]
    rows = con.execute(
        "SELECT record_type, record_id FROM run_identities WHERE person_id = ? AND run_id = ("
        "SELECT max(run_id) FROM run_identities WHERE person_id = ?) ORDER BY ALL", [person, person]).fetchall()
    if not rows:
        raise BountyguardError(f"forget: person {person!r} is not in the newest run's identities")
    return [(t, i) for t, i in rows]
