"""Paying bounties: release the newest clean report's `release` decisions exactly once, and the
analysts' tools around it (held payouts, clawbacks, one payout's history, analyst decisions).

This module reads only the published reports (`report.py`) and the ledger; it never opens the DuckDB
file, which a screening run may hold for a long time.

Exactly once: the write order of `release`
-------------------------------------------
(a) claim: in one BEGIN IMMEDIATE transaction, skip every payout the ledger already holds (in any
    state) or an analyst voided or held, and insert an `intent` row for each other one, carrying the
    exact instruction and the payout's idempotency key. Once this commits, the payout is ours: another
    run sees the row and skips it (and `releases.payout_id` is UNIQUE, so a second claim cannot commit).
(b) send: give the instruction to the provider with the idempotency key.
(c) record: mark the row `sent` with the provider's reference.

A crash after (a) leaves `intent` rows; the next run re-sends them with the same key and the same
instruction. If the crash came before (b) the provider pays now; if it came after (b) the provider
recognises the key and returns the first reference without paying again. Either way: once.
The other orders lose: sending before recording can pay twice (crash after the send, nothing recorded,
the next run pays again); holding one transaction open across the send blocks every analyst's write
for the duration of a network call and still cannot un-send money when it rolls back.

Which `intent` rows a run may re-send: only those of a run that is gone. Each run holds an exclusive
lock on its own file under `X/name.ledger.runs/` (the kernel drops it when the process dies, however
it dies) and stamps its claims with that file's name. Rows whose claimer's lock can be taken belong to
a dead run and are taken over in one guarded UPDATE; rows of a live run are left to it. So two runs
started together never both send a payout, and a killed run's payouts are completed by the next run.
Re-sending a live run's row would still pay once (the key), but it is not needed.

The claim is the point of no return: an analyst `void` committed after a payout was claimed does not
stop it (it was being paid already); one committed before does.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import socket
import uuid
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator

from bountyguard import ledger
from bountyguard.config import load_config
from bountyguard.db import require_database_file
from bountyguard.errors import BountyguardError, ReportIntegrityError
from bountyguard.faults import checkpoint
from bountyguard.payment_provider import (
    PaymentProvider,
    PaymentProviderError,
    PaymentRejectedError,
    PaymentTimeoutError,
    make_provider,
)
from bountyguard.report import latest_published, load_verified_report, published_root

log = logging.getLogger(__name__)

# Analyst decisions that stop a payout the report decided `release`.
BLOCKING_ANALYST_DECISIONS = ("void", "hold")


class NothingPublishedError(BountyguardError):
    """No screening run has published a report next to the DuckDB file yet."""


class ReportNotCleanError(BountyguardError):
    """The newest report is not clean: nothing is paid (exit status 3, as for `run`)."""

    exit_code = 3


# --- reading the newest report ------------------------------------------------------------------


def newest_verified_report(db_path: str | Path) -> tuple[Path, dict, list[dict], list[dict]]:
    """The newest published report, verified against its report_sha256: (folder, report, decisions,
    release batch). Raises when nothing is published or the report was changed after publishing."""
    run_dir = latest_published(db_path)
    if run_dir is None:
        raise NothingPublishedError(
            f"{published_root(db_path)}: no published report yet for {db_path}; "
            "run `bountyguard run` first; nothing is paid"
        )
    report, decisions, batch = load_verified_report(run_dir)
    return run_dir, report, decisions, batch


def _payment_instruction(row: dict, report: dict, where: Path) -> dict:
    """One release-batch row as a payment instruction, with its amount checked and made canonical."""
    payout_id = (row.get("payout_id") or "").strip()
    try:
        amount = Decimal(row.get("amount") or "")
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ReportIntegrityError(f"{where}: payout {payout_id}: amount {row.get('amount')!r} is not a positive "
                                   "amount with at most 2 decimals; nothing is paid")
    currency = (row.get("currency") or "").strip()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ReportIntegrityError(f"{where}: payout {payout_id}: currency {currency!r} is not ISO 4217; nothing is paid")
    return {
        "payout_id": payout_id,
        "referrer_id": row["referrer_id"],
        "amount": str(amount.quantize(Decimal("0.01"))),
        "currency": currency,
        "payee_iban": row["payee_iban"],
        "report_sha256": report["report_sha256"],
        "run_id": report["run_id"],
    }


def _require_clean(report: dict, decisions: list[dict], run_dir: Path) -> None:
    if report.get("status") != "clean":
        held = sum(1 for d in decisions if d["decision"] == "hold")
        raise ReportNotCleanError(
            f"{run_dir / 'report.json'}: the newest report (run {report.get('run_id')}, as of "
            f"{report.get('as_of')}) is {report.get('status')!r}, not 'clean': NOTHING IS PAID "
            f"({held} payouts held); fix the data and run the screening again"
        )


# --- release runs: who owns an `intent` row ------------------------------------------------------


def _runs_dir(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.ledger.runs"


@contextlib.contextmanager
def _release_run(db_path: str | Path) -> Iterator[str]:
    """This run's identity, backed by an exclusive lock held for the run's lifetime."""
    runs = _runs_dir(db_path)
    runs.mkdir(parents=True, exist_ok=True)
    run = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    lock_path = runs / f"{run}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield run
        # Only when every claim of this run is recorded `sent` is the lock file no longer needed;
        # after an error it stays (unlocked once we exit) and tells the next run to take over.
        os.unlink(lock_path)
    finally:
        os.close(fd)


def _run_is_gone(db_path: str | Path, run: str) -> bool:
    lock_path = _runs_dir(db_path) / f"{run}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _forget_run(db_path: str | Path, run: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_runs_dir(db_path) / f"{run}.lock")


# --- release ----------------------------------------------------------------------------------------


def release(
    db_path: str | Path,
    dry_run: bool = False,
    provider: PaymentProvider | None = None,
    config: dict[str, Any] | None = None,
) -> dict:
    """Pay the `release` decisions of the newest report, if it is clean, exactly once.

    Returns a summary: run_id, report_sha256, as_of, dry_run, paid (payout_id, amount, currency,
    reference), recovered (payout ids an interrupted run had claimed, completed now), already_released,
    blocked_by_analyst (payout_id, decision, decided_by), in_flight_elsewhere (payout ids a live
    release run is paying right now), clawbacks_listed, no_payee_account (payout ids decided release
    whose referrer has no bank account on file: not paid, waiting).
    With dry_run, `paid` lists what would be paid and nothing is written.
    """
    run_dir, report, decisions, batch = newest_verified_report(db_path)
    require_database_file(db_path)
    _require_clean(report, decisions, run_dir)
    # A referrer without bank details cannot be paid yet: that payout waits (listed, not lost, and
    # paid by a later run once the account is known); it must not stop everyone else's payment.
    no_account = sorted(row["payout_id"] for row in batch if not (row.get("payee_iban") or "").strip())
    instructions = [_payment_instruction(row, report, run_dir / "release_batch.csv")
                    for row in batch if (row.get("payee_iban") or "").strip()]
    if no_account:
        log.warning("%d payouts decided release have no payee account and are not paid: %s",
                    len(no_account), ", ".join(no_account))
    summary: dict[str, Any] = {
        "run_id": report["run_id"],
        "as_of": report.get("as_of"),
        "report_sha256": report["report_sha256"],
        "dry_run": dry_run,
        "decided_release": len(instructions),
        "paid": [],
        "recovered": [],
        "already_released": [],
        "blocked_by_analyst": [],
        "in_flight_elsewhere": [],
        "clawbacks_listed": 0,
        "no_payee_account": no_account,
        "rejected": [],
        "instructions_pruned": 0,
    }
    if dry_run:
        return _plan_only(db_path, instructions, summary)

    provider = provider or make_provider(db_path, config)
    con = ledger.open_ledger(db_path)
    try:
        with _release_run(db_path) as run:
            # (a) claim, in one write transaction: what we read here cannot change before we commit.
            with ledger.immediate(con):
                summary["clawbacks_listed"] = ledger.list_clawbacks(con, report, decisions)
                to_claim = _payable(instructions, ledger.release_rows(con), ledger.latest_analyst_decisions(con), summary)
                for instruction in to_claim:
                    key = ledger.idempotency_key(instruction["payout_id"])
                    ledger.insert_intent(con, instruction, key, run, json.dumps(instruction, sort_keys=True))
            checkpoint("payout.claimed")
            new_claims = {i["payout_id"] for i in to_claim}
            # Claims left by runs that died between (a) and (c) become ours; live runs keep theirs.
            for other in sorted(ledger.intent_claimers(con) - {run}):
                if _run_is_gone(db_path, other):
                    if ledger.take_over_intents(con, other, run):
                        log.warning("taking over the unfinished payouts of release run %s", other)
                    _forget_run(db_path, other)
            summary["in_flight_elsewhere"] = sorted(
                r["payout_id"] for r in ledger.release_rows(con).values()
                if r["state"] == "intent" and r["claimed_by"] != run
            )
            to_send = ledger.intents_of(con, run)
            for row in to_send:
                instruction = json.loads(row["instruction"])
                # (b) send with the payout's key: a repeat of an earlier, unrecorded send pays nothing.
                try:
                    reference = _send(con, provider, instruction, row, config)
                except PaymentRejectedError as exc:
                    # refused for good: a final state with the reason; the rest of the batch goes on
                    ledger.mark_failed(con, row["idempotency_key"], row["payout_id"], exc.reason)
                    log.warning("payout %s rejected by the provider: %s", row["payout_id"], exc.reason)
                    summary["rejected"].append({"payout_id": row["payout_id"], "reason": exc.reason})
                    continue
                except PaymentProviderError as exc:
                    left = len(to_send) - len(summary["paid"])
                    raise PaymentProviderError(
                        f"{exc} (payout {row['payout_id']}; {len(summary['paid'])} payouts paid in this run, "
                        f"{left} stay claimed in {ledger.ledger_path(db_path)} and are re-sent by the next "
                        "release run)"
                    ) from None
                checkpoint("payout.sent")
                # (c) record: from here on no run sends this payout again.
                ledger.mark_sent(con, row["idempotency_key"], provider.name, reference)
                checkpoint("payout.recorded")
                log.info("paid payout %s: %s %s (reference %s)", row["payout_id"], row["amount"], row["currency"], reference)
                paid = {"payout_id": row["payout_id"], "amount": row["amount"], "currency": row["currency"],
                        "reference": reference}
                summary["paid"].append(paid)
                if row["payout_id"] not in new_claims:
                    summary["recovered"].append(row["payout_id"])
            # payees' IBANs leave the provider's records after their retention (the keys stay)
            settings = (config or load_config())["payouts"]
            summary["instructions_pruned"] = provider.purge_expired(settings["payment_instruction_retention_days"])
    finally:
        con.close()
    return summary


def _send(con, provider: PaymentProvider, instruction: dict, row: dict, config: dict[str, Any] | None) -> str:
    """Send one payment; on a timeout (outcome unknown) send it again with the SAME key, which the
    provider pays at most once, up to `[payouts] send_attempts` times."""
    attempts = (config or load_config())["payouts"]["send_attempts"]
    key = ledger.send_key(row["idempotency_key"], row.get("attempt") or 1)
    for n in range(1, attempts + 1):
        try:
            return provider.send(instruction, key)
        except PaymentTimeoutError:
            ledger.record_timeout(con, row["payout_id"], n)
            if n == attempts:
                raise
    raise AssertionError("unreachable")


def _payable(instructions: list[dict], in_ledger: dict[str, dict], analyst: dict[str, dict], summary: dict) -> list[dict]:
    """The instructions to claim now; notes in `summary` why the others are not."""
    payable = []
    for instruction in instructions:
        payout_id = instruction["payout_id"]
        if payout_id in in_ledger:
            # An `intent` row is an unfinished claim: completed by recovery or by its live run.
            if in_ledger[payout_id]["state"] in ("failed", "voided"):
                summary.setdefault("failed_earlier", []).append(payout_id)  # an analyst retries or voids it
            elif in_ledger[payout_id]["state"] != "intent":
                summary["already_released"].append(payout_id)
        elif analyst.get(payout_id, {}).get("decision") in BLOCKING_ANALYST_DECISIONS:
            a = analyst[payout_id]
            summary["blocked_by_analyst"].append(
                {"payout_id": payout_id, "decision": a["decision"], "decided_by": a["decided_by"]}
            )
        else:
            payable.append(instruction)
    return payable


def _plan_only(db_path: str | Path, instructions: list[dict], summary: dict) -> dict:
    """What `release` would pay now, reading the ledger without writing anything (not even creating it)."""
    con = ledger.open_ledger_readonly(db_path)
    in_ledger, analyst = {}, {}
    if con is not None:
        try:
            in_ledger = ledger.release_rows(con)
            analyst = ledger.latest_analyst_decisions(con)
        finally:
            con.close()
    for instruction in _payable(instructions, in_ledger, analyst, summary):
        summary["paid"].append({k: instruction[k] for k in ("payout_id", "amount", "currency")} | {"reference": None})
    for row in (r for r in in_ledger.values() if r["state"] == "intent"):
        if _run_is_gone(db_path, row["claimed_by"]):
            summary["recovered"].append(row["payout_id"])
            summary["paid"].append({k: row[k] for k in ("payout_id", "amount", "currency")} | {"reference": None})
        else:
            summary["in_flight_elsewhere"].append(row["payout_id"])
    return summary


def totals_by_currency(paid: list[dict]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for p in paid:
        totals[p["currency"]] += Decimal(p["amount"])
    return dict(sorted(totals.items()))


# --- analysts' views and decisions ---------------------------------------------------------------


def held_payouts(db_path: str | Path) -> dict:
    """The newest report's `hold` decisions with their reasons and any later analyst decision, and
    its `release` decisions an analyst has put on hold since (release skips those too)."""
    run_dir, report, decisions, _ = newest_verified_report(db_path)
    latest = {d["payout_id"]: d for d in ledger.analyst_decisions(db_path)}
    holds = [
        {"payout_id": d["payout_id"], "reasons": d["reasons"], "analyst": latest.get(d["payout_id"])}
        for d in decisions
        if d["decision"] == "hold"
        or (d["decision"] == "release" and latest.get(d["payout_id"], {}).get("decision") == "hold")
    ]
    return {"run_id": report["run_id"], "as_of": report.get("as_of"), "status": report.get("status"), "holds": holds}


def clawbacks(db_path: str | Path) -> list[dict]:
    """Every payout listed for recovery, once each (with the first clean report that listed it and
    its state, listed or recovered). The newest report's clawbacks are listed first if it is clean (the
    same recording `release` does; a payout already listed is not listed again)."""
    run_dir, report, decisions, _ = newest_verified_report(db_path)
    con = ledger.open_ledger(db_path)
    try:
        if report.get("status") == "clean":
            with ledger.immediate(con):
                ledger.list_clawbacks(con, report, decisions)
        return ledger.clawback_rows(con)
    finally:
        con.close()


def payout_history(db_path: str | Path, payout_id: str) -> dict:
    """One payout across every published report, the analysts' decisions and the ledger."""
    reports = []
    root = published_root(db_path)
    run_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    for run_dir in run_dirs:
        try:
            report, decisions, _ = load_verified_report(run_dir)
        except ReportIntegrityError as exc:
            reports.append({"run_id": run_dir.name, "verified": False, "problem": str(exc)})
            continue
        for d in decisions:
            if d["payout_id"] == payout_id:
                reports.append({
                    "run_id": report["run_id"],
                    "as_of": report.get("as_of"),
                    "status": report.get("status"),
                    "decision": d["decision"],
                    "reasons": d["reasons"],
                    "report_sha256": report["report_sha256"],
                    "verified": True,
                })
    reports.sort(key=lambda r: (r.get("as_of") or "", r["run_id"]))
    con = ledger.open_ledger_readonly(db_path)
    analyst, release_row, claws, events = [], None, [], []
    if con is not None:
        try:
            events = ledger.payment_events(con, payout_id)
            analyst = ledger.analyst_history(con, payout_id)
            release_row = ledger.release_rows(con).get(payout_id)
            claws = ledger.clawback_rows(con, payout_id)
        finally:
            con.close()
    return {"payout_id": payout_id, "reports": reports, "analyst_decisions": analyst, "release": release_row,
            "clawbacks": claws, "payment_events": events}


def decide(db_path: str | Path, payout_id: str, decision: str, decided_by: str, reason: str) -> dict:
    """Append an analyst decision to the audit trail. A `void` or `hold` stops the payout's release
    from now on; the next screening run reads the latest decision per payout (`ledger.analyst_decisions`).

    The decision records `reasons_seen`: the payout's pattern codes in the newest published report
    ('' when it is not in it, or nothing is published), so that a `release` lifts only holds for the
    patterns the analyst saw, never ones a later run finds. A `release` is refused when the newest
    report cannot be verified (what the analyst saw is unknown); a `void` or `hold` is always recorded,
    since stopping a payment needs no report."""
    payout_id = (payout_id or "").strip()
    try:
        reasons_seen = _reasons_in_newest_report(db_path, payout_id)
    except BountyguardError as exc:
        if decision == "release":
            raise BountyguardError(
                f"{exc}; the release of payout {payout_id} is not recorded (the patterns it answers are unknown)"
            ) from None
        log.warning("recording %s of payout %s without the patterns seen: %s", decision, payout_id, exc)
        reasons_seen = ""
    con = ledger.open_ledger(db_path)
    try:
        return ledger.append_analyst_decision(con, payout_id, decision, decided_by, reason, reasons_seen=reasons_seen)
    finally:
        con.close()


def _reasons_in_newest_report(db_path: str | Path, payout_id: str) -> str:
    """The payout's reasons (';'-separated pattern codes) in the newest published report, verified."""
    run_dir = latest_published(db_path)
    if run_dir is None or not payout_id:
        return ""
    _, decisions, _ = load_verified_report(run_dir)
    return next(((d.get("reasons") or "").strip() for d in decisions if d["payout_id"] == payout_id), "")


# --- money that fails to move ------------------------------------------------------------------------


def failed_payments(db_path: str | Path) -> list[dict]:
    """Payments the provider rejected for good, with the reason: waiting for an analyst's retry or void."""
    con = ledger.open_ledger_readonly(db_path)
    if con is None:
        return []
    try:
        return ledger.failed_rows(con)
    finally:
        con.close()


def retry_payment(db_path: str | Path, payout_id: str, payee_iban: str, by: str, reason: str) -> dict:
    """Send a rejected payment again to a corrected account (audited); the next `payouts release` pays it,
    under the next attempt's idempotency key. The amount and payee stay those of the original claim."""
    from bountyguard.normalize import iban_key

    corrected = iban_key(payee_iban or "")
    if not corrected:
        raise BountyguardError(f"payout {payout_id}: the corrected account is not a valid IBAN (check digits); nothing changed")
    if not (by or "").strip() or not (reason or "").strip():
        raise BountyguardError(f"payout {payout_id}: --by and --reason must not be empty (they are audited)")
    con = ledger.open_ledger(db_path)
    try:
        row = ledger.release_rows(con).get(payout_id)
        if row is None:
            raise BountyguardError(f"payout {payout_id}: never released by bountyguard, nothing to retry")
        instruction = {"payout_id": payout_id, "referrer_id": row["referrer_id"], "amount": row["amount"],
                       "currency": row["currency"], "payee_iban": corrected,
                       "report_sha256": row["report_sha256"], "run_id": row["run_id"]}
        attempt = ledger.retry_failed(con, payout_id, instruction, by.strip(), reason.strip())
    finally:
        con.close()
    return {"payout_id": payout_id, "attempt": attempt}


def void_payment(db_path: str | Path, payout_id: str, by: str, reason: str) -> None:
    """Give up a rejected payment (audited in the ledger, and as an analyst `void` that the next
    screening run reads: reason analyst_void)."""
    if not (by or "").strip() or not (reason or "").strip():
        raise BountyguardError(f"payout {payout_id}: --by and --reason must not be empty (they are audited)")
    con = ledger.open_ledger(db_path)
    try:
        ledger.void_failed(con, payout_id, by.strip(), reason.strip())
        ledger.append_analyst_decision(con, payout_id, "void", by, f"failed payment voided: {reason}")
    finally:
        con.close()


def confirm_settlement(db_path: str | Path, settlement_csv: str | Path) -> dict:
    """Confirm sent payments from the provider's settlement file (CSV: payout_id, provider_reference,
    amount, currency); lines that match no sent payment exactly are returned as mismatched."""
    import csv

    try:
        with open(settlement_csv, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"payout_id", "provider_reference", "amount", "currency"} - set(reader.fieldnames or [])
            if missing:
                raise BountyguardError(f"{settlement_csv}: missing column(s) {', '.join(sorted(missing))}")
            lines = list(reader)
    except OSError as exc:
        raise BountyguardError(f"{settlement_csv}: cannot read the settlement file ({exc.strerror})") from None
    con = ledger.open_ledger(db_path)
    try:
        return ledger.confirm_settled(con, lines)
    finally:
        con.close()


def close_clawback(db_path: str | Path, payout_id: str, outcome: str, by: str, reason: str) -> None:
    con = ledger.open_ledger(db_path)
    try:
        ledger.close_clawback(con, payout_id, outcome, by, reason)
    finally:
        con.close()
