"""The review store: users, sessions, case decisions and the audit trail, in a SQLite file beside the
payout ledger (`X/name.duckdb` -> `X/name.review.sqlite`).

It is SQLite for the ledger's reasons (several processes write: the web app, `bountyguard cases
decide`, `users add`, while a screening run may hold the DuckDB file for an hour): WAL, BEGIN
IMMEDIATE for every write, a busy timeout. The payout decisions a case decision implies go to the
ledger's own `analyst_decisions` trail (bountyguard/ledger.py), which screening and payouts read;
this file holds what only the review needs. `case_decisions` and `audit_events` are append-only
(triggers refuse UPDATE and DELETE), like the ledger's analyst trail.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bountyguard import ledger
from bountyguard.errors import BountyguardError

ROLES = ("analyst", "lead")
CASE_ACTIONS = ("confirm", "dismiss")
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('analyst', 'lead')),
    password_hash TEXT NOT NULL,            -- argon2id (argon2-cffi), never the password
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,          -- the cookie holds the token; only its hash is stored
    user_name    TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    subject TEXT NOT NULL,                  -- 'user:NAME' or 'client:ADDRESS'
    at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_subject ON login_failures (subject, at);

CREATE TABLE IF NOT EXISTS case_decisions (
    decision_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id         TEXT NOT NULL,
    action            TEXT NOT NULL CHECK (action IN ('confirm', 'dismiss')),
    decided_by        TEXT NOT NULL CHECK (length(trim(decided_by)) > 0),
    reason            TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    decided_at        TEXT NOT NULL,
    run_id            TEXT NOT NULL,        -- the published run the analyst saw
    evidence_patterns TEXT NOT NULL,        -- JSON list: a dismissal holds until a pattern outside it appears
    evidence_records  TEXT NOT NULL,        -- JSON list: ... or a record outside it
    payouts           TEXT NOT NULL         -- JSON list of the payout changes recorded with it
);
CREATE INDEX IF NOT EXISTS case_decisions_by_person ON case_decisions (person_id, decision_id);
CREATE TRIGGER IF NOT EXISTS case_decisions_no_update BEFORE UPDATE ON case_decisions
BEGIN SELECT RAISE(ABORT, 'case_decisions is append-only: record a new decision instead'); END;
CREATE TRIGGER IF NOT EXISTS case_decisions_no_delete BEFORE DELETE ON case_decisions
BEGIN SELECT RAISE(ABORT, 'case_decisions is append-only: decisions are never deleted'); END;

CREATE TABLE IF NOT EXISTS audit_events (
    event_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,                -- view_case, confirm, dismiss, export_audit, login, ...
    person_id TEXT,
    detail    TEXT NOT NULL DEFAULT '',
    reason    TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
"""


class ReviewStoreError(BountyguardError):
    """The review store refuses a change (unknown user, wrong role, empty comment...)."""


def store_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.review.sqlite"


def open_store(db_path: str | Path) -> sqlite3.Connection:
    path = store_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return ledger.open_versioned(path, _SCHEMA, _SCHEMA_VERSION, _refuse_other_schema, "cannot open the review store")


def _refuse_other_schema(path: Path, version: int) -> None:
    if version not in (0, _SCHEMA_VERSION):
        raise ReviewStoreError(f"{path}: review store schema version {version}, this bountyguard needs {_SCHEMA_VERSION}")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- users ------------------------------------------------------------------------------------------

def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's current recommended parameters


def add_user(con: sqlite3.Connection, name: str, role: str, password: str) -> None:
    name = (name or "").strip()
    if not name or role not in ROLES:
        raise ReviewStoreError(f"user {name!r}: a name and a role ({' or '.join(ROLES)}) are needed")
    if len(password or "") < 8:
        raise ReviewStoreError(f"user {name}: the password must have at least 8 characters")
    with ledger.immediate(con):
        if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise ReviewStoreError(f"user {name} exists already")
        con.execute("INSERT INTO users VALUES (?, ?, ?, 0, ?)", (name, role, _hasher().hash(password), _iso(_now())))
        _audit(con, "cli", "user_added", None, f"{name} ({role})")


def list_users(con: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in con.execute("SELECT name, role, disabled, created_at FROM users ORDER BY name")]


def disable_user(con: sqlite3.Connection, name: str) -> None:
    with ledger.immediate(con):
        if not con.execute("UPDATE users SET disabled = 1 WHERE name = ?", (name,)).rowcount:
            raise ReviewStoreError(f"no user named {name}")
        # a disabled user's open sessions end now, not when they expire
        con.execute("DELETE FROM sessions WHERE user_name = ?", (name,))
        _audit(con, "cli", "user_disabled", None, name)


def get_user(con: sqlite3.Connection, name: str) -> dict | None:
    row = con.execute("SELECT name, role, disabled FROM users WHERE name = ?", (name,)).fetchone()
    return dict(row) if row else None


def too_many_failures(con: sqlite3.Connection, subjects: list[str], limit: int, window_seconds: int) -> bool:
    since = _iso(_now() - timedelta(seconds=window_seconds))
    for subject in subjects:
        n = con.execute("SELECT count(*) FROM login_failures WHERE subject = ? AND at >= ?", (subject, since)).fetchone()[0]
        if n >= limit:
            return True
    return False


def check_login(con: sqlite3.Connection, name: str, password: str, client: str) -> dict | None:
    """The user if the password is right and the user is enabled; records a failure otherwise."""
    from argon2.exceptions import VerificationError, InvalidHashError

    row = con.execute("SELECT name, role, password_hash, disabled FROM users WHERE name = ?", (name,)).fetchone()
    ok = False
    if row is not None:
        try:
            ok = _hasher().verify(row["password_hash"], password or "")
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # same work for an unknown name as for a wrong password: no user enumeration by timing
        try:
            _hasher().verify(_hasher().hash("x" * 12), password or "")
        except VerificationError:
            pass
    if not ok or row["disabled"]:
        with ledger.immediate(con):
            for subject in (f"user:{name}", f"client:{client}"):
                con.execute("INSERT INTO login_failures VALUES (?, ?)", (subject, _iso(_now())))
            _audit(con, name or "?", "login_refused", None, "disabled user" if ok else "wrong name or password")
        return None
    return {"name": row["name"], "role": row["role"]}


def new_session(con: sqlite3.Connection, user: str, hours: float) -> tuple[str, str]:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with ledger.immediate(con):
        con.execute("DELETE FROM sessions WHERE expires_at < ?", (_iso(now),))
        con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                    (_sha(token), user, csrf, _iso(now), _iso(now + timedelta(hours=hours))))
        _audit(con, user, "login", None, "")
    return token, csrf


def session_user(con: sqlite3.Connection, token: str | None) -> dict | None:
    """The enabled user and CSRF token of a live session, or None."""
    if not token:
        return None
    row = con.execute(
        "SELECT u.name, u.role, s.csrf_token FROM sessions s JOIN users u ON u.name = s.user_name "
        "WHERE s.token_sha256 = ? AND s.expires_at >= ? AND u.disabled = 0", (_sha(token), _iso(_now()))).fetchone()
    return dict(row) if row else None


def end_session(con: sqlite3.Connection, token: str | None) -> None:
    if token:
        with ledger.immediate(con):
            con.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_sha(token),))


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- case decisions and the audit trail ----------------------------------------------------------------

def _audit(con: sqlite3.Connection, actor: str, action: str, person_id: str | None, detail: str, reason: str = "") -> None:
    con.execute("INSERT INTO audit_events (at, actor, action, person_id, detail, reason) VALUES (?, ?, ?, ?, ?, ?)",
                (_iso(_now()), actor, action, person_id, detail, reason))


def audit(con: sqlite3.Connection, actor: str, action: str, person_id: str | None = None, detail: str = "",
          reason: str = "") -> None:
    with ledger.immediate(con):
        _audit(con, actor, action, person_id, detail, reason)


def append_case_decision(con: sqlite3.Connection, person_id: str, action: str, decided_by: str, reason: str,
                         run_id: str, evidence_patterns: list[str], evidence_records: list[str],
                         payouts: list[dict]) -> int:
    if action not in CASE_ACTIONS:
        raise ReviewStoreError(f"case decision {action!r}: must be one of {CASE_ACTIONS}")
    if not (reason or "").strip():
        raise ReviewStoreError(f"case {person_id}: a comment is required")
    with ledger.immediate(con):
        cur = con.execute(
            "INSERT INTO case_decisions (person_id, action, decided_by, reason, decided_at, run_id, evidence_patterns, "
            "evidence_records, payouts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (person_id, action, decided_by, reason.strip(), _iso(_now()), run_id, json.dumps(sorted(evidence_patterns)),
             json.dumps(sorted(evidence_records)), json.dumps(payouts, sort_keys=True)))
        _audit(con, decided_by, action, person_id,
               "; ".join(f"{p['payout_id']} {p['change']} {p['amount']} {p['currency']}" for p in payouts) or "no payout changes",
               reason.strip())
    return cur.lastrowid


def latest_case_decisions(con: sqlite3.Connection) -> list[dict]:
    rows = con.execute(
        "SELECT d.* FROM case_decisions d JOIN (SELECT person_id, max(decision_id) AS last FROM case_decisions "
        "GROUP BY person_id) l ON d.decision_id = l.last").fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["evidence_patterns"] = json.loads(d["evidence_patterns"])
        d["evidence_records"] = json.loads(d["evidence_records"])
        d["payouts"] = json.loads(d["payouts"])
        out.append(d)
    return out


def case_history(con: sqlite3.Connection, person_id: str) -> list[dict]:
    return [dict(r) for r in con.execute(
        "SELECT decision_id, action, decided_by, reason, decided_at, run_id, payouts FROM case_decisions "
        "WHERE person_id = ? ORDER BY decision_id", (person_id,))]


def audit_events(con: sqlite3.Connection, limit: int | None = None, offset: int = 0) -> list[dict]:
    sql = "SELECT event_id, at, actor, action, person_id, detail, reason FROM audit_events ORDER BY event_id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return [dict(r) for r in con.execute(sql)]


AUDIT_CSV_COLUMNS = ["event_id", "at", "actor", "action", "person_id", "detail", "reason"]


def csv_safe(value) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ tab or CR would make it a formula
    (OWASP "CSV injection"), so such a cell gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
