"""The payout ledger and the analysts' audit trail: a SQLite file next to the DuckDB file.

`X/name.duckdb` has its ledger in `X/name.ledger.sqlite`. It is SQLite, not a table in the DuckDB
file, because several processes write it at once (payout runs, analysts deciding held payouts) while a
screening run may hold the DuckDB file's one lock for an hour. WAL lets readers go on while one writer
commits; `BEGIN IMMEDIATE` takes the write lock at the start of a transaction, so a read-then-write
(check that a payout is not claimed, then claim it) can never interleave with another process's; the
busy timeout makes a second writer wait its turn instead of failing. WAL needs all its processes on one
host (shared memory), which is also what makes the host-local file locks of `payouts` sound.

Tables:
- `releases`: one row per payout bountyguard ever started paying (state intent -> sent -> confirmed,
  confirmed from the provider's settlement file; or intent -> failed when the provider rejects it
  for good, then back to intent with a corrected account and the next attempt's key, or voided).
  `payout_id` is UNIQUE over every state: a payout is paid once even when two later clean reports
  both decide `release` for it. Rows are never deleted and their money columns never change.
- `analyst_decisions`: append-only (triggers refuse UPDATE and DELETE): who decided what and why,
  and which patterns the newest published report gave the payout when they decided (`reasons_seen`):
  an analyst's release answers those patterns, not ones a later run finds.
- `clawbacks`: one row per payout a clean report found to be paid wrongly, listed for recovery. The
  first clean report that decides `clawback` lists it; later reports (each with a new digest) deciding
  the same add nothing, so a payout is never listed, and recovered, twice.

The schema is versioned (`PRAGMA user_version`). A ledger of another version is refused with a clear
message rather than read with missing columns (there is no migration: the ledger is new).
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from bountyguard.errors import BountyguardError

ANALYST_DECISIONS = ("release", "void", "hold")
RELEASE_STATES = ("intent", "sent", "confirmed", "failed", "voided")
LEDGER_CSV_COLUMNS = ["payout_id", "amount", "currency", "report_sha256", "idempotency_key", "released_at"]
# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 60

_SCHEMA_VERSION = 3
CLAWBACK_STATES = ("listed", "recovered", "written_off")
PAYMENT_EVENTS = ("rejected", "timed_out", "retried", "voided", "confirmed", "recovered", "written_off")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS releases (
    idempotency_key    TEXT PRIMARY KEY,
    payout_id          TEXT NOT NULL UNIQUE,
    referrer_id        TEXT NOT NULL,
    amount             TEXT NOT NULL,          -- exact decimal as text, e.g. '250.00'
    currency           TEXT NOT NULL,
    report_sha256      TEXT NOT NULL,          -- the clean report that decided `release`
    run_id             TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('intent', 'sent', 'confirmed', 'failed', 'voided')),
    attempt            INTEGER NOT NULL DEFAULT 1,  -- attempt n > 1 is sent with send_key(key, n)
    failure_reason     TEXT,                   -- the provider's reason of the last rejection
    settled_at         TEXT,                   -- when the provider's settlement file confirmed it
    claimed_by         TEXT NOT NULL,          -- the release run that owns an `intent` row
    instruction        TEXT,                   -- the exact instruction (JSON) while in flight; cleared once sent
    provider           TEXT,
    provider_reference TEXT,
    created_at         TEXT NOT NULL,
    released_at        TEXT
);
CREATE INDEX IF NOT EXISTS releases_by_state ON releases (state, claimed_by);

-- Money history is never rewritten: no deletes, and the money columns of a claim never change.
CREATE TRIGGER IF NOT EXISTS releases_no_delete BEFORE DELETE ON releases
BEGIN SELECT RAISE(ABORT, 'releases: rows are never deleted (payout ledger)'); END;
CREATE TRIGGER IF NOT EXISTS releases_money_fixed
BEFORE UPDATE OF idempotency_key, payout_id, referrer_id, amount, currency, report_sha256 ON releases
BEGIN SELECT RAISE(ABORT, 'releases: the payout, amount and key of a release never change'); END;

CREATE TABLE IF NOT EXISTS analyst_decisions (
    decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
    payout_id   TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('release', 'void', 'hold')),
    decided_by  TEXT NOT NULL CHECK (length(trim(decided_by)) > 0),
    reason      TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    decided_at  TEXT NOT NULL,
    -- the ';'-separated pattern codes of the payout's decision in the newest published report when
    -- the analyst decided ('' when it was not in it): a release lifts holds for these patterns only
    reasons_seen TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS analyst_decisions_by_payout ON analyst_decisions (payout_id, decision_id);
CREATE TRIGGER IF NOT EXISTS analyst_decisions_no_update BEFORE UPDATE ON analyst_decisions
BEGIN SELECT RAISE(ABORT, 'analyst_decisions is an append-only audit trail: record a new decision instead'); END;
CREATE TRIGGER IF NOT EXISTS analyst_decisions_no_delete BEFORE DELETE ON analyst_decisions
BEGIN SELECT RAISE(ABORT, 'analyst_decisions is an append-only audit trail: decisions are never deleted'); END;

CREATE TABLE IF NOT EXISTS clawbacks (
    payout_id     TEXT PRIMARY KEY,            -- listed once, by the first clean report deciding clawback
    report_sha256 TEXT NOT NULL,               -- that first report
    run_id        TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    amount        TEXT,                        -- known when bountyguard paid it; NULL when paid elsewhere
    currency      TEXT,
    state         TEXT NOT NULL DEFAULT 'listed' CHECK (state IN ('listed', 'recovered', 'written_off')),
    listed_at     TEXT NOT NULL
);

-- What happened to money after it was claimed, and who decided what about it: append-only.
CREATE TABLE IF NOT EXISTS payment_events (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    payout_id  TEXT NOT NULL,
    event      TEXT NOT NULL CHECK (event IN ('rejected', 'timed_out', 'retried', 'voided', 'confirmed',
                                              'recovered', 'written_off')),
    detail     TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL,                  -- 'provider', 'settlement' or the analyst's name
    at         TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS payment_events_no_update BEFORE UPDATE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment_events is an append-only audit trail'); END;
CREATE TRIGGER IF NOT EXISTS payment_events_no_delete BEFORE DELETE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment_events is an append-only audit trail'); END;
"""


class LedgerError(BountyguardError):
    """The payout ledger cannot be opened or refuses a change."""


def ledger_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.ledger.sqlite"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def idempotency_key(payout_id: str) -> str:
    """The key a payout is always sent with. It depends on the payout alone (not on the report that
    decided it), so the provider too refuses a second payment of one payout, even from a later report
    or from a ledger restored from an old backup."""
    return hashlib.sha256(f"bountyguard/payout/v1\n{payout_id}".encode()).hexdigest()


def open_ledger(db_path: str | Path) -> sqlite3.Connection:
    """Open (and on first use create) the ledger of `db_path` for writing."""
    path = ledger_path(db_path)
    _refuse_lost_ledger(db_path, path)
    return open_versioned(path, _SCHEMA, _SCHEMA_VERSION, _refuse_other_schema,
                          "cannot open the payout ledger")


def open_versioned(path: Path, schema: str, schema_version: int, refuse, what: str) -> sqlite3.Connection:
    """Open (and on first use create) a SQLite file of `schema` at `schema_version` for writing:
    WAL, FULL sync, the busy timeout. `refuse(path, version)` raises for a file of another version.
    Also used by the case review's store (bountyguard/review/store.py), which keeps the same rules."""

    def connect() -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; every write goes through `immediate`.
        con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            con.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed claim or `sent` mark survives a power cut, which the write order relies on.
            con.execute("PRAGMA synchronous = FULL")
            if con.execute("PRAGMA user_version").fetchone()[0] != schema_version:
                with immediate(con):
                    # read again under the write lock: another process may have created it meanwhile
                    version = con.execute("PRAGMA user_version").fetchone()[0]
                    refuse(path, version)
                    if version == 0:
                        for statement in _statements(schema):
                            con.execute(statement)
                        con.execute(f"PRAGMA user_version = {schema_version}")
        except BaseException:
            con.close()
            raise
        return con

    return _while_busy(connect, path, what)


def _refuse_lost_ledger(db_path: str | Path, path: Path) -> None:
    """A missing or emptied ledger is only created on first use. Once money has moved (the file
    payment provider's instructions exist), an absent ledger means it was lost, and a new empty one
    would forget every payment: stop instead of recreating it. (An outside provider keeps no file
    here; its idempotency keys still refuse a second payment.)"""
    if path.exists() and path.stat().st_size > 0:
        return
    db_path = Path(db_path)
    evidence = [p for p in (db_path.parent / f"{db_path.stem}.payments" / "instructions.jsonl",)
                if p.exists() and p.stat().st_size > 0]
    if evidence:
        raise LedgerError(
            f"{path}: the payout ledger is {'empty' if path.exists() else 'missing'}, but payouts were released "
            f"before ({evidence[0]} exists): NOTHING IS PAID and no new ledger is created; restore the "
            "ledger from a backup (it records every payment)"
        )


def open_ledger_readonly(db_path: str | Path) -> sqlite3.Connection | None:
    """The ledger for reading only, or None when no ledger exists yet (nothing was ever released)."""
    path = ledger_path(db_path)
    if not path.exists():
        return None

    def connect() -> sqlite3.Connection | None:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        con.row_factory = sqlite3.Row
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            _refuse_other_schema(path, version)
        except BaseException:
            con.close()
            raise
        if version == 0:
            con.close()  # being created by another process right now: nothing in it yet
            return None
        return con

    return _while_busy(connect, path, "cannot read the payout ledger")


def _refuse_other_schema(path: Path, version: int) -> None:
    """An existing ledger of another schema version is never used (nor taken for an empty one)."""
    if version not in (0, _SCHEMA_VERSION):
        raise LedgerError(
            f"{path}: ledger schema version {version}, this bountyguard needs version {_SCHEMA_VERSION} "
            "(there is no migration); keep the file (it records payments) and start a new ledger "
            "only after reconciling it"
        )


def _while_busy(connect, path: Path, what: str):
    """Retry opening while SQLite reports the file busy. In WAL mode, opening can return SQLITE_BUSY
    without waiting on the busy timeout: while another process switches the file to WAL, or while the
    last connection of another process cleans up the WAL on close (sqlite.org/wal.html, "Sometimes
    queries return SQLITE_BUSY"). Once open, the busy timeout covers every later statement."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            return connect()
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise LedgerError(f"{path}: {what} ({exc})") from None
        except sqlite3.Error as exc:
            raise LedgerError(f"{path}: {what} ({exc})") from None
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _statements(script: str) -> list[str]:
    """Split the schema into statements (triggers contain ';' inside BEGIN ... END)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


@contextlib.contextmanager
def immediate(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction that holds the write lock from its first statement (BEGIN IMMEDIATE):
    what it reads cannot be changed by another process before it commits."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# --- releases -------------------------------------------------------------------------------------


def release_rows(con: sqlite3.Connection) -> dict[str, dict]:
    """Every release row by payout_id (any state), without the in-flight instruction."""
    rows = con.execute(
        "SELECT payout_id, amount, currency, referrer_id, report_sha256, run_id, state, claimed_by, "
        "idempotency_key, provider, provider_reference, created_at, released_at FROM releases"
    ).fetchall()
    return {r["payout_id"]: dict(r) for r in rows}


def insert_intent(con: sqlite3.Connection, instruction: dict, key: str, claimed_by: str, instruction_json: str) -> None:
    con.execute(
        "INSERT INTO releases (idempotency_key, payout_id, referrer_id, amount, currency, report_sha256, "
        "run_id, state, claimed_by, instruction, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'intent', ?, ?, ?)",
        (
            key,
            instruction["payout_id"],
            instruction["referrer_id"],
            instruction["amount"],
            instruction["currency"],
            instruction["report_sha256"],
            instruction["run_id"],
            claimed_by,
            instruction_json,
            utc_now(),
        ),
    )


def intent_claimers(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT DISTINCT claimed_by FROM releases WHERE state = 'intent'")}


def take_over_intents(con: sqlite3.Connection, from_run: str, to_run: str) -> int:
    """Move the unfinished claims of a dead run to this run. Guarded by claimed_by and state, so two
    runs recovering the same dead run cannot both take a row."""
    with immediate(con):
        return con.execute(
            "UPDATE releases SET claimed_by = ? WHERE claimed_by = ? AND state = 'intent'", (to_run, from_run)
        ).rowcount


def intents_of(con: sqlite3.Connection, run: str) -> list[dict]:
    rows = con.execute(
        "SELECT payout_id, idempotency_key, attempt, instruction, amount, currency FROM releases "
        "WHERE state = 'intent' AND claimed_by = ? ORDER BY created_at, payout_id",
        (run,),
    ).fetchall()
    return [dict(r) for r in rows]


def mark_sent(con: sqlite3.Connection, key: str, provider: str, reference: str) -> None:
    # The instruction (it carries the payee's IBAN) is kept only while it may have to be re-sent.
    with immediate(con):
        con.execute(
            "UPDATE releases SET state = 'sent', provider = ?, provider_reference = ?, released_at = ?, "
            "instruction = NULL WHERE idempotency_key = ? AND state = 'intent'",
            (provider, reference, utc_now(), key),
        )


def send_key(key: str, attempt: int) -> str:
    """The idempotency key of a payment attempt: the payout's key for the first, and a key derived
    from it for a retry to a corrected account after a rejection (the provider has consumed the first)."""
    return key if attempt <= 1 else hashlib.sha256(f"{key}/attempt/{attempt}".encode()).hexdigest()


def append_event(con: sqlite3.Connection, payout_id: str, event: str, detail: str, actor: str) -> None:
    """Call inside a transaction."""
    con.execute("INSERT INTO payment_events (payout_id, event, detail, actor, at) VALUES (?, ?, ?, ?, ?)",
                (payout_id, event, detail, actor, utc_now()))


def mark_failed(con: sqlite3.Connection, key: str, payout_id: str, reason: str) -> None:
    """The provider rejected the payment for good: final state `failed` with its reason (no money moved)."""
    with immediate(con):
        con.execute("UPDATE releases SET state = 'failed', failure_reason = ? WHERE idempotency_key = ? "
                    "AND state = 'intent'", (reason, key))
        append_event(con, payout_id, "rejected", reason, "provider")


def record_timeout(con: sqlite3.Connection, payout_id: str, attempt: int) -> None:
    with immediate(con):
        append_event(con, payout_id, "timed_out", f"send {attempt}: no answer; re-sent with the same key", "provider")


def failed_rows(con: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in con.execute(
        "SELECT r.payout_id, r.amount, r.currency, r.attempt, r.failure_reason, "
        "(SELECT max(at) FROM payment_events e WHERE e.payout_id = r.payout_id AND e.event = 'rejected') AS failed_at "
        "FROM releases r WHERE r.state = 'failed' ORDER BY r.payout_id")]


def _failed_row(con: sqlite3.Connection, payout_id: str) -> sqlite3.Row:
    row = con.execute("SELECT * FROM releases WHERE payout_id = ?", (payout_id,)).fetchone()
    if row is None or row["state"] != "failed":
        state = "never released" if row is None else f"in state {row['state']}"
        raise LedgerError(f"payout {payout_id}: {state}, not a failed payment (see `bountyguard payouts failed`)")
    return row


def retry_failed(con: sqlite3.Connection, payout_id: str, instruction: dict, by: str, reason: str) -> int:
    """Put a failed payment back in flight with a corrected instruction, as the next attempt (a new
    key: the rejected attempt's key is used up). The next release run sends it. Returns the attempt."""
    with immediate(con):
        row = _failed_row(con, payout_id)
        attempt = row["attempt"] + 1
        # claimed by no live run: the next release run takes it over like a dead run's claim
        con.execute("UPDATE releases SET state = 'intent', attempt = ?, instruction = ?, claimed_by = ? "
                    "WHERE payout_id = ? AND state = 'failed'",
                    (attempt, json.dumps(instruction, sort_keys=True), f"retry-{payout_id}-{attempt}", payout_id))
        append_event(con, payout_id, "retried", f"attempt {attempt} to a corrected account: {reason}", by)
    return attempt


def void_failed(con: sqlite3.Connection, payout_id: str, by: str, reason: str) -> None:
    with immediate(con):
        _failed_row(con, payout_id)
        con.execute("UPDATE releases SET state = 'voided', instruction = NULL WHERE payout_id = ? AND state = 'failed'",
                    (payout_id,))
        append_event(con, payout_id, "voided", reason, by)


def confirm_settled(con: sqlite3.Connection, settled: list[dict]) -> dict:
    """Mark `sent` rows `confirmed` from the provider's settlement lines (payout_id, provider_reference,
    amount, currency). A line that does not match a sent payment exactly is listed, never confirmed."""
    result = {"confirmed": [], "already_confirmed": [], "mismatched": []}
    with immediate(con):
        for line in settled:
            pid = (line.get("payout_id") or "").strip()
            row = con.execute("SELECT * FROM releases WHERE payout_id = ?", (pid,)).fetchone()
            expected = row and (row["provider_reference"], row["amount"], row["currency"])
            got = ((line.get("provider_reference") or "").strip(), (line.get("amount") or "").strip(),
                   (line.get("currency") or "").strip())
            if row is not None and row["state"] == "confirmed" and expected == got:
                result["already_confirmed"].append(pid)
            elif row is None or row["state"] != "sent" or expected != got:
                result["mismatched"].append({"payout_id": pid, "state": row["state"] if row else None})
            else:
                con.execute("UPDATE releases SET state = 'confirmed', settled_at = ? WHERE payout_id = ? "
                            "AND state = 'sent'", (utc_now(), pid))
                append_event(con, pid, "confirmed", f"settlement reference {got[0]}", "settlement")
                result["confirmed"].append(pid)
    return result


def close_clawback(con: sqlite3.Connection, payout_id: str, outcome: str, by: str, reason: str) -> None:
    """A listed clawback ends `recovered` (the money came back) or `written_off` (it will not)."""
    if outcome not in ("recovered", "written_off"):
        raise LedgerError(f"clawback of payout {payout_id}: outcome must be recovered or written_off")
    if not (by or "").strip() or not (reason or "").strip():
        raise LedgerError(f"clawback of payout {payout_id}: who and why must not be empty")
    with immediate(con):
        row = con.execute("SELECT state FROM clawbacks WHERE payout_id = ?", (payout_id,)).fetchone()
        if row is None or row["state"] != "listed":
            state = "not listed for clawback" if row is None else f"already {row['state']}"
            raise LedgerError(f"payout {payout_id}: {state}")
        con.execute("UPDATE clawbacks SET state = ? WHERE payout_id = ? AND state = 'listed'", (outcome, payout_id))
        append_event(con, payout_id, outcome, reason.strip(), by.strip())


def payment_events(con: sqlite3.Connection, payout_id: str) -> list[dict]:
    return [dict(r) for r in con.execute("SELECT * FROM payment_events WHERE payout_id = ? ORDER BY event_id",
                                         (payout_id,))]


# --- analyst decisions ------------------------------------------------------------------------------


def append_analyst_decision(
    con: sqlite3.Connection, payout_id: str, decision: str, decided_by: str, reason: str, reasons_seen: str = ""
) -> dict:
    """Append one decision. `reasons_seen`: the pattern codes the analyst saw (`payouts.decide` fills
    it from the newest published report)."""
    if decision not in ANALYST_DECISIONS:
        raise LedgerError(f"analyst decision {decision!r} for payout {payout_id}: must be one of {ANALYST_DECISIONS}")
    for name, value in (("payout", payout_id), ("decided by", decided_by), ("reason", reason)):
        if not (value or "").strip():
            raise LedgerError(f"analyst decision for payout {payout_id or '?'}: {name} must not be empty")
    reasons_seen = (reasons_seen or "").strip()
    decided_at = utc_now()
    with immediate(con):
        cursor = con.execute(
            "INSERT INTO analyst_decisions (payout_id, decision, decided_by, reason, decided_at, reasons_seen) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (payout_id.strip(), decision, decided_by.strip(), reason.strip(), decided_at, reasons_seen),
        )
    return {
        "decision_id": cursor.lastrowid,
        "payout_id": payout_id.strip(),
        "decision": decision,
        "decided_by": decided_by.strip(),
        "reason": reason.strip(),
        "decided_at": decided_at,
        "reasons_seen": reasons_seen,
    }


def latest_analyst_decisions(con: sqlite3.Connection) -> dict[str, dict]:
    """The latest decision per payout (by decision_id: the order of commits, not of clocks)."""
    rows = con.execute(
        "SELECT d.* FROM analyst_decisions d JOIN (SELECT payout_id, max(decision_id) AS last "
        "FROM analyst_decisions GROUP BY payout_id) l ON d.decision_id = l.last ORDER BY d.payout_id"
    ).fetchall()
    return {r["payout_id"]: dict(r) for r in rows}


def analyst_history(con: sqlite3.Connection, payout_id: str) -> list[dict]:
    rows = con.execute(
        "SELECT * FROM analyst_decisions WHERE payout_id = ? ORDER BY decision_id", (payout_id,)
    ).fetchall()
    return [dict(r) for r in rows]


def analyst_decisions(db_path: str | Path) -> list[dict]:
    """The latest analyst decision per payout (payout_id, decision, decided_by, reason, decided_at,
    decision_id, reasons_seen), for the screening's decision step. `reasons_seen` (a string, '' when
    none) is the ';'-separated pattern codes the payout had in the newest published report when the
    analyst decided: a release lifts only holds whose patterns are all among them. Reads only; no
    ledger yet means no decisions."""
    con = open_ledger_readonly(db_path)
    if con is None:
        return []
    try:
        return list(latest_analyst_decisions(con).values())
    finally:
        con.close()


# --- clawbacks --------------------------------------------------------------------------------------


def list_clawbacks(con: sqlite3.Connection, report: dict, decisions: list[dict]) -> int:
    """Record a clean report's money to recover, once per payout: its `clawback` decisions (paid as
    the platform says), and its `void` decisions of payouts bountyguard itself paid while the platform
    still lists them pending (the contract decides a pending payout release, hold or void; not owed
    and already paid means recover it). A payout already listed (by any earlier report) keeps its
    row. Returns how many payouts were newly listed. Call inside a transaction. The amount is known
    only for payouts bountyguard paid itself."""
    paid = release_rows(con)
    listed = 0
    for d in decisions:
        if not (d["decision"] == "clawback" or (d["decision"] == "void" and d["payout_id"] in paid)):
            continue
        release = paid.get(d["payout_id"], {})
        listed += con.execute(
            "INSERT OR IGNORE INTO clawbacks (payout_id, report_sha256, run_id, reasons, amount, currency, listed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                d["payout_id"],
                report["report_sha256"],
                report["run_id"],
                d.get("reasons") or "",
                release.get("amount"),
                release.get("currency"),
                utc_now(),
            ),
        ).rowcount
    return listed


def clawback_rows(con: sqlite3.Connection, payout_id: str | None = None) -> list[dict]:
    sql = "SELECT * FROM clawbacks" + (" WHERE payout_id = ?" if payout_id else "") + " ORDER BY listed_at, payout_id"
    return [dict(r) for r in con.execute(sql, (payout_id,) if payout_id else ())]


def paid_payout_ids(db_path: str | Path) -> list[str]:
    """Every payout bountyguard itself has started paying, sorted: every `releases` row in any state
    (an `intent` may already have moved money, so for clawbacks it counts as paid). Reads only; [] when
    no ledger exists."""
    con = open_ledger_readonly(db_path)
    if con is None:
        return []
    try:
        # a payment the provider rejected, or one voided after that, moved no money
        return [r[0] for r in con.execute(
            "SELECT payout_id FROM releases WHERE state NOT IN ('failed', 'voided') ORDER BY payout_id")]
    finally:
        con.close()


# --- export -----------------------------------------------------------------------------------------


def export_ledger_csv(db_path: str | Path, out_path: str | Path) -> Path:
    """Write `ledger.csv` (the contract's columns): one row per payout ever released (sent or
    confirmed). `out_path` is the file, or a folder to write `ledger.csv` into. Written atomically."""
    from bountyguard.export import spreadsheet_safe  # export imports this module
    out_path = Path(out_path)
    if out_path.is_dir():
        out_path = out_path / "ledger.csv"
    con = open_ledger_readonly(db_path)
    rows = []
    if con is not None:
        try:
            rows = con.execute(
                "SELECT payout_id, amount, currency, report_sha256, idempotency_key, released_at FROM releases "
                "WHERE state IN ('sent', 'confirmed') ORDER BY released_at, payout_id"
            ).fetchall()
        finally:
            con.close()
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(LEDGER_CSV_COLUMNS)
        writer.writerows(tuple(spreadsheet_safe(v) for v in r) for r in rows)
    os.replace(tmp, out_path)
    return out_path


# --- inputs of a screening run --------------------------------------------------------------------

def stage_decision_inputs(con, run_id: str) -> None:
    """Copy the analysts' latest decisions and the payouts bountyguard has paid into the run's DuckDB
    tables (run_analyst_decisions, run_paid_payouts): inputs of the run like the platform's data,
    kept with it and covered by the report's input digest. Also gives the decision query its
    `analyst_decision_input` (models.RUNTIME_INPUTS)."""
    db_path = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.execute("DELETE FROM run_analyst_decisions WHERE run_id = ?", [run_id])
    latest = analyst_decisions(db_path)
    if latest:
        con.executemany(
            "INSERT INTO run_analyst_decisions VALUES (?, ?, ?, ?)",
            [[run_id, d["payout_id"], d["decision"], d.get("reasons_seen") or ""] for d in latest],
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE analyst_decision_input AS "
        "SELECT payout_id, decision, list_filter(string_split(reasons_seen, ';'), lambda x: x <> '') AS reasons_seen "
        "FROM run_analyst_decisions WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM run_paid_payouts WHERE run_id = ?", [run_id])
    paid = paid_payout_ids(db_path)
    if paid:
        con.executemany("INSERT INTO run_paid_payouts VALUES (?, ?)", [[run_id, pid] for pid in paid])
