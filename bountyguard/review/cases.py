"""Cases: a published run's flags grouped per person, their status, and what a decision changes.

A case is one person (a referrer person or a candidate person) with at least one holding flag in the
newest published run. Its status comes from the analysts' latest case decision in the review store
(sql/app/case_queue.sql says how; a dismissed case reopens on a new pattern or a new record only).

A decision is recorded in two places, in this order:
1. the payout decisions it implies, in the ledger's append-only analyst trail (`payouts.decide`, the
   same path as `bountyguard payouts decide`), which the next screening run and the payout job honour:
   - confirm: every payout of the person not yet paid becomes `void` (analyst_void); paid ones are
     also listed for clawback now;
   - dismiss: every payout held only because of this person is released by the analyst with the
     patterns seen (the next screening run lifts the hold; a pattern found later holds it again);
     a payout that another open or confirmed case also holds, or a data problem holds, stays held;
2. the case decision itself (what evidence it saw) and an audit event.
Above `[review] lead_only_above` (the money a decision moves), only a lead may decide.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from bountyguard import ledger, payouts
from bountyguard.db import sql_text
from bountyguard.errors import BountyguardError
from bountyguard.report import latest_published, load_verified_report
from bountyguard.review import store
from bountyguard.review.snapshot import has_snapshot, open_snapshot

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
PATTERN_MEANING = {
    "serial_rereferral": "placed again and again through referrals, each stint ending shortly after the guarantee period",
    "job_hopping": "many short tenures, whoever referred them",
    "early_exit": "the hire ended before its guarantee period was over: the bounty is not owed",
    "self_referral": "the referrer and the referred candidate are the same person",
    "shared_payout_account": "several referrer accounts pay out to the same bank account",
    "referral_ring": "people refer each other in a cycle",
    "duplicate_referral": "the candidate was already known to the company when this referral came in",
    "late_referral": "the referral came after the hire was agreed, or implausibly close to it",
    "velocity_spike": "far more referrals than the referrer's own history and their peers",
    "anomaly": "an unusual profile of behaviour (a ranking for review)",
}
_CASE_STATE_SCHEMA = pa.schema([
    ("person_id", pa.string()), ("action", pa.string()), ("decided_by", pa.string()),
    ("decided_at", pa.string()), ("evidence_patterns", pa.list_(pa.string())),
    ("evidence_records", pa.list_(pa.string())),
])


class CaseError(BountyguardError):
    """A case that does not exist, a decision that is not allowed, a stale preview."""


class NotAllowedError(CaseError):
    """The user's role may not take this decision."""


class NoSuchCaseError(CaseError):
    """No case for this person in the newest published run."""


# --- reading -----------------------------------------------------------------------------------------

def newest_run(db_path: str | Path) -> tuple[Path, dict]:
    """The newest published run (verified against its digest) that carries a review snapshot."""
    run_dir = latest_published(db_path)
    if run_dir is None:
        raise CaseError(f"nothing published for {db_path} yet: run `bountyguard run` first")
    report, _, _ = load_verified_report(run_dir)
    if not has_snapshot(run_dir):
        raise CaseError(f"{run_dir}: this run has no case-review snapshot (a run that failed before screening)")
    return run_dir, report


class Snapshot:
    """One published run's snapshot with the analysts' case decisions, for one request or command."""

    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path)
        self.run_dir, self.report = newest_run(db_path)
        self.run_id = self.report["run_id"]
        self.con = open_snapshot(self.run_dir)
        scon = store.open_store(db_path)
        try:
            latest = store.latest_case_decisions(scon)
        finally:
            scon.close()
        self.con.register("case_state", pa.Table.from_pylist(
            [{k: d[k] for k in _CASE_STATE_SCHEMA.names} for d in latest], schema=_CASE_STATE_SCHEMA))

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _rows(self, sql: str, params=None) -> list[dict]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def queue(self, *, status: str | None = "open", pattern: str | None = None, severity: str | None = None,
              min_amount=None, max_amount=None, min_age_days=None, max_age_days=None, page: int = 1,
              page_size: int = 50, person_id: str | None = None) -> tuple[list[dict], int]:
        """One page of cases (sorted by money at stake, then score) and how many match in all."""
        page = max(1, int(page))
        params = {"person_id": person_id, "status": status or None, "pattern": pattern or None,
                  "severity": severity or None,
                  "min_amount": _decimal_or_none(min_amount), "max_amount": _decimal_or_none(max_amount),
                  "min_age_days": _int_or_none(min_age_days), "max_age_days": _int_or_none(max_age_days),
                  "limit": int(page_size), "offset": (page - 1) * int(page_size)}
        rows = self._rows(sql_text("app/case_queue.sql"), params)
        total = rows[0]["total"] if rows else self._count(params)
        return rows, total

    def _count(self, params: dict) -> int:
        # an empty page past the end still reports how many cases match
        if params["offset"] == 0:
            return 0
        rows = self._rows(sql_text("app/case_queue.sql"), {**params, "limit": 1, "offset": 0})
        return rows[0]["total"] if rows else 0

    def case(self, person_id: str) -> dict:
        rows, _ = self.queue(status=None, person_id=person_id, page_size=1)
        if not rows:
            raise NoSuchCaseError(f"no case for person {person_id} in run {self.run_id}")
        case = rows[0]
        flags = self._rows("SELECT * FROM flags WHERE person_id = ? ORDER BY score DESC, pattern, flag_id", [person_id])
        names = self._names()
        # record ids and person ids alike are named in the evidence
        id_names = names | {r["record_id"]: r["full_name"] for r in self._rows(
            "SELECT DISTINCT record_id, full_name FROM records")}
        for f in flags:
            f["evidence_items"] = readable_evidence(json.loads(f["evidence"]), id_names)
            f["meaning"] = PATTERN_MEANING.get(f["pattern"], "")
        case["flags"] = flags
        case["records"] = self._rows("SELECT * FROM records WHERE person_id = ? ORDER BY record_type, record_id", [person_id])
        case["links"] = self._rows("SELECT * FROM links WHERE person_id = ? ORDER BY record_id_l, record_id_r, rule", [person_id])
        case["timeline"] = self._rows(
            "SELECT * FROM timeline WHERE referrer_person_id = ? OR candidate_person_id = ? "
            "ORDER BY coalesce(started_at, CAST(referred_at AS DATE)), referral_id", [person_id, person_id])
        for t in case["timeline"]:
            t["role"] = "candidate" if t["candidate_person_id"] == person_id else "referrer"
            other = t["referrer_person_id"] if t["role"] == "candidate" else t["candidate_person_id"]
            t["other_person_id"], t["other_name"] = other, names.get(other, other)
        case["payouts"] = self.case_payouts(person_id)
        case["network"] = self._network(person_id, names)
        with_case = {n["id"] for n in case["network"]["nodes"] if n["case_status"]}
        for t in case["timeline"]:
            t["other_has_case"] = t["other_person_id"] in with_case and t["other_person_id"] != person_id
        scon = store.open_store(self.db_path)
        try:
            case["history"] = store.case_history(scon, person_id)
        finally:
            scon.close()
        return case

    def _names(self) -> dict:
        return {r["person_id"]: r["full_name"] for r in self._rows(
            "SELECT person_id, min(full_name) AS full_name FROM records GROUP BY person_id")}

    def _network(self, person_id: str, names: dict) -> dict:
        edges = self._rows(
            "SELECT referrer_person_id AS source, candidate_person_id AS target, count(*) AS referrals "
            "FROM timeline WHERE (referrer_person_id = ? OR candidate_person_id = ?) "
            "AND referrer_person_id IS NOT NULL GROUP BY ALL ORDER BY source, target", [person_id, person_id])
        nodes = sorted({e["source"] for e in edges} | {e["target"] for e in edges} | {person_id})
        in_case = {r["person_id"]: r["status"] for r in self._rows(
            "SELECT person_id, status FROM (" + sql_text("app/case_queue.sql") + ")",
            {"person_id": None, "status": None, "pattern": None, "severity": None, "min_amount": None,
             "max_amount": None, "min_age_days": None, "max_age_days": None, "limit": 1_000_000, "offset": 0})
            if r["person_id"] in nodes}
        return {"center": person_id, "edges": edges,
                "nodes": [{"id": n, "name": names.get(n, n), "case_status": in_case.get(n)} for n in nodes]}

    def case_payouts(self, person_id: str) -> list[dict]:
        rows = self._rows(
            "SELECT * FROM payouts WHERE referrer_person_id = ? OR candidate_person_id = ? ORDER BY eligible_at, payout_id",
            [person_id, person_id])
        lcon = ledger.open_ledger_readonly(self.db_path)
        paid, analyst = {}, {}
        if lcon is not None:
            try:
                paid, analyst = ledger.release_rows(lcon), ledger.latest_analyst_decisions(lcon)
            finally:
                lcon.close()
        for r in rows:
            r["paid_by_bountyguard"] = paid.get(r["payout_id"], {}).get("state")
            r["analyst"] = analyst.get(r["payout_id"])
            r["role"] = "candidate" if r["candidate_person_id"] == person_id and r["referrer_person_id"] != person_id else "referrer"
        return rows

    # --- what a decision changes ---------------------------------------------------------------------

    def plan(self, person_id: str, action: str, lead_only_above: float) -> dict:
        """The payout changes a decision records, their total, and whether only a lead may take it."""
        if action not in store.CASE_ACTIONS:
            raise CaseError(f"unknown decision {action!r}: confirm or dismiss")
        case = self.case(person_id)
        statuses = {r["person_id"]: r["status"] for r in self._rows(
            "SELECT person_id, status FROM (" + sql_text("app/case_queue.sql") + ")",
            {"person_id": None, "status": None, "pattern": None, "severity": None, "min_amount": None,
             "max_amount": None, "min_age_days": None, "max_age_days": None, "limit": 1_000_000, "offset": 0})}
        changes, unchanged = [], []
        for p in case["payouts"]:
            item = {"payout_id": p["payout_id"], "amount": str(p["amount"]), "currency": p["currency"],
                    "decision": p["decision"], "reasons": p["reasons"] or ""}
            paid = p["status"] == "released" or p["paid_by_bountyguard"] is not None
            if action == "confirm":
                if paid:
                    changes.append(item | {"change": "clawback", "why": "already paid: listed for recovery"})
                elif p["decision"] == "void":
                    unchanged.append(item | {"why": "void already"})
                else:
                    changes.append(item | {"change": "void", "why": "held or due: becomes void (analyst_void)"})
                continue
            if p["decision"] != "hold":
                unchanged.append(item | {"why": f"{p['decision'] or 'not due yet'}: a dismissal lifts holds only"})
                continue
            codes = set(filter(None, (p["reasons"] or "").split(";")))
            other = p["candidate_person_id"] if p["referrer_person_id"] == person_id else p["referrer_person_id"]
            if codes & {"data_rejected", "data_inconsistent", "data_not_clean", "run_failed"}:
                unchanged.append(item | {"why": "stays held: a data problem holds it"})
            elif other and other != person_id and statuses.get(other) in ("open", "confirmed"):
                unchanged.append(item | {"why": f"stays held: the case of {other} ({statuses[other]}) holds it too"})
            else:
                changes.append(item | {"change": "release", "why": "hold lifted on the next screening run"})
        total = sum((Decimal(c["amount"]) for c in changes), Decimal("0"))
        return {"person_id": person_id, "action": action, "run_id": self.run_id, "changes": changes,
                "unchanged": unchanged, "total": str(total),
                "lead_required": total > Decimal(str(lead_only_above)), "case": case}


def decide(db_path: str | Path, person_id: str, action: str, user: dict, reason: str, *,
           lead_only_above: float, seen_run_id: str | None = None) -> dict:
    """Record a case decision and the payout decisions it implies. `user`: {"name", "role"}.
    `seen_run_id`: the run the decider's preview came from; a newer run since then is refused."""
    reason = (reason or "").strip()
    if not reason:
        raise CaseError("a comment is required for every decision")
    with Snapshot(db_path) as snap:
        if seen_run_id and seen_run_id != snap.run_id:
            raise CaseError(f"run {snap.run_id} was published after your preview (run {seen_run_id}): review the case again")
        plan = snap.plan(person_id, action, lead_only_above)
        report = snap.report
    if plan["lead_required"] and user["role"] != "lead":
        raise NotAllowedError(f"this decision moves {plan['total']}, above {lead_only_above}: only a lead may take it")
    by = user["name"]
    note = f"case {person_id} {action}ed: {reason}"
    for c in plan["changes"]:
        decision = {"void": "void", "clawback": "void", "release": "release"}[c["change"]]
        payouts.decide(db_path, c["payout_id"], decision, by, note)
    claws = [c for c in plan["changes"] if c["change"] == "clawback"]
    if claws and report.get("status") == "clean":
        lcon = ledger.open_ledger(db_path)
        try:
            with ledger.immediate(lcon):
                ledger.list_clawbacks(lcon, report, [
                    {"payout_id": c["payout_id"], "decision": "clawback", "reasons": "analyst_void"} for c in claws])
        finally:
            lcon.close()
    case = plan["case"]
    scon = store.open_store(db_path)
    try:
        decision_id = store.append_case_decision(
            scon, person_id, action, by, reason, snap.run_id, list(case["evidence_patterns"]),
            list(case["evidence_records"]),
            [{k: c[k] for k in ("payout_id", "change", "amount", "currency")} for c in plan["changes"]])
    finally:
        scon.close()
    return {"decision_id": decision_id, "person_id": person_id, "action": action, "changes": plan["changes"],
            "unchanged": plan["unchanged"], "total": plan["total"], "run_id": snap.run_id}


# --- reading evidence like a person ------------------------------------------------------------------

def readable_evidence(evidence: dict, names: dict) -> list[dict]:
    """The evidence as a person reads it: one item per key, with its label in words and either a
    text or, for a list of records (stints, referrals, rings...), a small table. Every record id or
    person id that `names` knows (id -> name) carries the name, so the other people are named."""
    items = []
    for key, value in evidence.items():
        label = key.replace("_", " ")
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            rows = [[_short(v.get(c), names) for c in columns] for v in value]
            items.append({"label": label, "text": None, "columns": [c.replace("_", " ") for c in columns], "rows": rows})
        else:
            items.append({"label": label, "text": _short(value, names)})
    return items


def _short(value, names: dict) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_short(v, names)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_short(v, names) for v in value)
    if value is None:
        return ""
    text = str(value)
    name = names.get(text) if isinstance(value, str) else None
    return f"{text} ({name})" if name else text


# --- masking ------------------------------------------------------------------------------------------

def mask_email(value: str | None) -> str:
    if not value or "@" not in value:
        return "" if not value else "***"
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def mask_phone(value: str | None) -> str:
    digits = re.sub(r"\D", "", value or "")
    return f"***{digits[-2:]}" if digits else ""


def mask_iban(value: str | None) -> str:
    compact = re.sub(r"\W", "", value or "")
    return f"{compact[:2]}** **** {compact[-2:]}" if compact else ""


def _decimal_or_none(value):
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except Exception:
        raise CaseError(f"amount {value!r} is not a number") from None


def _int_or_none(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise CaseError(f"age {value!r} is not a whole number of days") from None
