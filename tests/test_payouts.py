"""Payout release: exactly once, only from a clean and untampered report, honouring analysts.

Every test works on real files in tmp_path: published report folders written the way `report.py`
publishes them, the SQLite ledger, and the file payment provider's instructions.jsonl.
"""
from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import time
from pathlib import Path

import duckdb
import pytest

from bountyguard import cli_payouts, ledger, payouts
from bountyguard.errors import BountyguardError, ReportIntegrityError
from bountyguard.payment_provider import FilePaymentProvider, PaymentProviderError, payments_dir
from bountyguard.report import (
    DECISION_COLUMNS,
    RELEASE_BATCH_COLUMNS,
    sign_report,
    file_sha256,
    publish_folder,
    write_json,
)

IBAN = "DE89 3704 0044 0532 0130 00"


# --- helpers -----------------------------------------------------------------------------------------


def publish(db: Path, run_id: str, decisions: dict[str, str], status: str = "clean", as_of: str = "2026-03-01",
            amounts: dict[str, str] | None = None, reasons: dict[str, str] | None = None,
            ibans: dict[str, str] | None = None) -> Path:
    """Publish a report with `decisions` (payout_id -> decision) like a screening run does."""
    amounts = amounts or {}
    ibans = ibans or {}
    reasons = reasons or {}

    def write(tmp: Path) -> None:
        with open(tmp / "release_batch.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(RELEASE_BATCH_COLUMNS)
            for pid, decision in decisions.items():
                if decision == "release":
                    w.writerow([pid, f"R-{pid}", amounts.get(pid, "100.00"), "EUR", ibans.get(pid, IBAN)])
        report = {
            "run_id": run_id,
            "as_of": as_of,
            "status": status,
            "inputs_sha256": "inputs-" + run_id,
            "config_sha256": "config",
            "validation": {"success": status == "clean"},
            "release_batch_sha256": file_sha256(tmp / "release_batch.csv"),
        }
        triples = [(pid, d, reasons.get(pid, "" if d == "release" else "early_exit")) for pid, d in decisions.items()]
        sign_report(report, triples)
        with open(tmp / "payout_decisions.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(DECISION_COLUMNS)
            for pid, d, r in triples:
                w.writerow([pid, d, r, run_id, report["report_sha256"]])
        write_json(tmp / "report.json", report)

    if not db.exists():  # a report is published beside its DuckDB file, which the payout job checks
        duckdb.connect(str(db)).close()
    return publish_folder(db, run_id, write)


def payments(db: Path) -> list[dict]:
    path = payments_dir(db) / "instructions.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def paid_counts(db: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in payments(db):
        counts[p["payout_id"]] = counts.get(p["payout_id"], 0) + 1
    return counts


def ledger_states(db: Path) -> dict[str, str]:
    con = ledger.open_ledger_readonly(db)
    if con is None:
        return {}
    try:
        return {pid: row["state"] for pid, row in ledger.release_rows(con).items()}
    finally:
        con.close()


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="bountyguard")
    cli_payouts.register(parser.add_subparsers(dest="command", required=True))
    return cli_payouts.handle(parser.parse_args(list(argv)))


class CountingProvider(FilePaymentProvider):
    """The file provider, counting every send call (a repeat the provider absorbs still counts)."""

    def __init__(self, db):
        super().__init__(db)
        self.calls: list[str] = []

    def send(self, instruction, idempotency_key):
        self.calls.append(instruction["payout_id"])
        return super().send(instruction, idempotency_key)


class AttemptLoggingProvider(FilePaymentProvider):
    """Appends every send attempt (any process) to a file and sends slowly, so runs overlap."""

    def __init__(self, db, attempts: Path):
        super().__init__(db)
        self.attempts = attempts

    def send(self, instruction, idempotency_key):
        with open(self.attempts, "a", encoding="utf-8") as f:
            f.write(instruction["payout_id"] + "\n")
        time.sleep(0.02)
        return super().send(instruction, idempotency_key)


class DyingProvider(FilePaymentProvider):
    """Kills its process at the n-th send: before handing it to the provider, or right after."""

    def __init__(self, db, die_at: int, after_send: bool):
        super().__init__(db)
        self.die_at, self.after_send, self.sends = die_at, after_send, 0

    def send(self, instruction, idempotency_key):
        self.sends += 1
        if self.sends == self.die_at and not self.after_send:
            os._exit(9)
        reference = super().send(instruction, idempotency_key)
        if self.sends == self.die_at and self.after_send:
            os._exit(9)  # paid, but the ledger never hears of it
        return reference


def _release_in_child(db, attempts, start):
    start.wait()
    payouts.release(db, provider=AttemptLoggingProvider(db, attempts))


def _release_and_die(db, die_at, after_send):
    payouts.release(db, provider=DyingProvider(db, die_at, after_send))


FIVE = {f"P{i}": "release" for i in range(1, 6)}


# --- refusing to pay ---------------------------------------------------------------------------------


def test_nothing_published_is_refused_with_a_clear_message(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    with pytest.raises(payouts.NothingPublishedError, match="no published report"):
        payouts.release(db)
    assert cli("payouts", "release", "--db", str(db)) != 0
    assert "no published report" in capsys.readouterr().err
    assert payments(db) == []


def test_not_clean_report_pays_nothing_and_exits_3(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", FIVE)  # a clean report first: the newest one decides
    publish(db, "run-2", {**FIVE, "P6": "hold"}, status="not_clean")
    with pytest.raises(payouts.ReportNotCleanError):
        payouts.release(db)
    assert cli("payouts", "release", "--db", str(db)) == 3
    err = capsys.readouterr().err
    assert "not_clean" in err and "NOTHING IS PAID" in err
    assert payments(db) == []
    assert ledger_states(db) == {}


@pytest.mark.parametrize("tamper", ["decision", "batch_amount"])
def test_tampered_report_is_refused_and_nothing_paid(tmp_path, capsys, tamper):
    db = tmp_path / "bg.duckdb"
    run_dir = publish(db, "run-1", {"P1": "release", "P2": "hold"})
    if tamper == "decision":
        path = run_dir / "payout_decisions.csv"
        path.write_text(path.read_text().replace("P2,hold,early_exit", "P2,release,"))
    else:
        path = run_dir / "release_batch.csv"
        path.write_text(path.read_text().replace("100.00", "9100.00"))
    with pytest.raises(ReportIntegrityError, match="nothing is paid"):
        payouts.release(db)
    assert cli("payouts", "release", "--db", str(db)) == 2
    err = capsys.readouterr().err
    assert "bg.published/run-1/" in err and "changed after it was published" in err
    assert "Traceback" not in err
    assert payments(db) == []
    assert ledger_states(db) == {}


def test_malformed_amount_in_a_verified_batch_is_refused_before_any_payment(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release", "P2": "release"}, amounts={"P2": "-5.00"})
    with pytest.raises(ReportIntegrityError, match="P2.*'-5.00'"):
        payouts.release(db)
    assert payments(db) == []


def test_payout_without_payee_account_waits_and_the_others_are_paid(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release", "P2": "release", "P3": "release"}, ibans={"P2": ""})
    assert cli("payouts", "release", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert paid_counts(db) == {"P1": 1, "P3": 1}
    assert "not paid, no payee account on file: P2" in out
    # once the referrer's account is known, a later report pays it, and only it
    publish(db, "run-2", {"P1": "release", "P2": "release", "P3": "release"})
    again = payouts.release(db)
    assert [p["payout_id"] for p in again["paid"]] == ["P2"]
    assert paid_counts(db) == {"P1": 1, "P2": 1, "P3": 1}


# --- exactly once ------------------------------------------------------------------------------------


def test_same_report_released_three_times_pays_each_payout_once(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {**FIVE, "P6": "hold", "P7": "void"})
    provider = CountingProvider(db)
    first = payouts.release(db, provider=provider)
    assert sorted(p["payout_id"] for p in first["paid"]) == sorted(FIVE)
    for _ in range(2):
        again = payouts.release(db, provider=provider)
        assert again["paid"] == [] and sorted(again["already_released"]) == sorted(FIVE)
    assert paid_counts(db) == {pid: 1 for pid in FIVE}
    assert provider.calls == sorted(FIVE)  # the ledger, not the provider's dedup, stopped the re-runs
    assert set(ledger_states(db).values()) == {"sent"}


def test_a_later_clean_report_does_not_pay_a_payout_again(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release"})
    payouts.release(db)
    publish(db, "run-2", {"P1": "release", "P2": "release"}, as_of="2026-03-02")
    summary = payouts.release(db)
    assert [p["payout_id"] for p in summary["paid"]] == ["P2"]
    assert summary["already_released"] == ["P1"]
    assert paid_counts(db) == {"P1": 1, "P2": 1}


@pytest.mark.parametrize("processes", [2, 4])
def test_release_processes_started_together_pay_each_payout_once(tmp_path, processes):
    db = tmp_path / "bg.duckdb"
    many = {f"P{i:03d}": "release" for i in range(40)}
    publish(db, "run-1", many)
    attempts = tmp_path / "attempts.txt"
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    runs = [ctx.Process(target=_release_in_child, args=(db, attempts, start)) for _ in range(processes)]
    for p in runs:
        p.start()
    start.set()
    for p in runs:
        p.join(60)
    assert [p.exitcode for p in runs] == [0] * processes
    assert paid_counts(db) == {pid: 1 for pid in many}
    # Not even an attempt twice: the ledger claim, not only the provider's dedup, kept them apart.
    assert sorted(attempts.read_text().split()) == sorted(many)
    assert set(ledger_states(db).values()) == {"sent"}


@pytest.mark.parametrize("after_send", [False, True], ids=["killed_before_send", "killed_after_send"])
def test_release_killed_midway_is_completed_by_the_next_run_paying_each_once(tmp_path, after_send):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", FIVE)
    child = multiprocessing.get_context("fork").Process(target=_release_and_die, args=(db, 2, after_send))
    child.start()
    child.join(60)
    assert child.exitcode == 9
    assert len(payments(db)) == (2 if after_send else 1)
    unfinished = sorted(pid for pid, state in ledger_states(db).items() if state == "intent")
    assert len(unfinished) == 4  # all five claimed in one transaction, one recorded as sent

    assert sorted(payouts.release(db, dry_run=True)["recovered"]) == unfinished
    provider = CountingProvider(db)
    summary = payouts.release(db, provider=provider)
    assert sorted(summary["recovered"]) == sorted(p["payout_id"] for p in summary["paid"]) == unfinished
    assert paid_counts(db) == {pid: 1 for pid in FIVE}
    assert set(ledger_states(db).values()) == {"sent"}
    assert payouts.release(db, provider=provider)["paid"] == []
    assert paid_counts(db) == {pid: 1 for pid in FIVE}


class RefusingProvider(FilePaymentProvider):
    """A provider that goes down at its second send."""

    def send(self, instruction, idempotency_key):
        if self.path.exists() and self.path.read_text().count("\n") >= 1:
            raise PaymentProviderError("bank API: 503 service unavailable")
        return super().send(instruction, idempotency_key)


def test_provider_failure_stops_the_run_and_the_next_run_completes_it(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", FIVE)
    with pytest.raises(PaymentProviderError, match="1 payouts paid in this run, 4 stay claimed"):
        payouts.release(db, provider=RefusingProvider(db))
    assert paid_counts(db) == {"P1": 1}
    summary = payouts.release(db)
    assert sorted(summary["recovered"]) == ["P2", "P3", "P4", "P5"]
    assert paid_counts(db) == {pid: 1 for pid in FIVE}


def test_claims_of_a_live_run_are_left_to_it(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release"})
    with payouts._release_run(db) as live_run:
        con = ledger.open_ledger(db)
        with ledger.immediate(con):
            instruction = {"payout_id": "P1", "referrer_id": "R-P1", "amount": "100.00", "currency": "EUR",
                           "payee_iban": IBAN, "report_sha256": "x", "run_id": "run-1"}
            ledger.insert_intent(con, instruction, ledger.idempotency_key("P1"), live_run, json.dumps(instruction))
        con.close()
        summary = payouts.release(db)
        assert summary["paid"] == [] and summary["in_flight_elsewhere"] == ["P1"]
        assert payments(db) == []


# --- analysts ----------------------------------------------------------------------------------------


def test_analyst_void_or_hold_blocks_release_until_a_later_release_decision(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release", "P2": "release", "P3": "release"})
    assert cli("payouts", "decide", "P1", "--db", str(db), "--void", "--by", "ana", "--reason", "sock puppet") == 0
    assert cli("payouts", "decide", "P2", "--db", str(db), "--hold", "--by", "ana", "--reason", "check IBAN") == 0
    summary = payouts.release(db)
    assert [p["payout_id"] for p in summary["paid"]] == ["P3"]
    assert {b["payout_id"]: b["decision"] for b in summary["blocked_by_analyst"]} == {"P1": "void", "P2": "hold"}
    assert paid_counts(db) == {"P3": 1}

    payouts.decide(db, "P2", "release", "ben", "IBAN verified")
    assert [p["payout_id"] for p in payouts.release(db)["paid"]] == ["P2"]
    assert paid_counts(db) == {"P2": 1, "P3": 1}
    assert {d["payout_id"]: d["decision"] for d in ledger.analyst_decisions(db)} == {"P1": "void", "P2": "release"}


def test_decide_requires_a_reason_and_a_decider(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    assert cli("payouts", "decide", "P1", "--db", str(db), "--void", "--by", " ", "--reason", "x") == 2
    assert "decided by must not be empty" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: exactly one of --release/--void/--hold
        cli("payouts", "decide", "P1", "--db", str(db), "--void", "--hold", "--by", "a", "--reason", "x")


def test_holds_show_and_clawbacks_commands(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release", "P2": "hold"}, reasons={"P2": "velocity_spike"})
    payouts.release(db)
    publish(db, "run-2", {"P1": "clawback", "P2": "hold", "P3": "release", "P4": "release", "P9": "clawback"},
            as_of="2026-04-01", reasons={"P1": "self_referral", "P2": "velocity_spike;anomaly", "P9": "referral_ring"})
    payouts.decide(db, "P2", "hold", "ana", "waiting for the client")
    payouts.decide(db, "P3", "hold", "ana", "same IBAN as R7")
    capsys.readouterr()

    assert cli("payouts", "holds", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "P2: velocity_spike;anomaly" in out and "waiting for the client" in out
    assert "P3: -  [analyst: hold by ana: same IBAN as R7]" in out and "P4" not in out

    assert cli("payouts", "clawbacks", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "P1: 100.00 EUR; self_referral" in out
    assert "P9: amount unknown" in out

    assert cli("payouts", "show", "P1", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "run run-1 (clean): release" in out and "run run-2 (clean): clawback self_referral" in out
    assert "ledger: sent 100.00 EUR from run run-1" in out
    assert IBAN not in out


def test_release_records_the_clean_reports_clawbacks_once(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release"})
    payouts.release(db)
    publish(db, "run-2", {"P1": "clawback"}, reasons={"P1": "serial_rereferral"})
    assert payouts.release(db)["clawbacks_listed"] == 1
    assert payouts.release(db)["clawbacks_listed"] == 0
    assert [(c["payout_id"], c["amount"]) for c in payouts.clawbacks(db)] == [("P1", "100.00")]


# --- dry run and output ------------------------------------------------------------------------------


def test_dry_run_prints_what_it_would_pay_and_writes_nothing(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release", "P2": "release", "P3": "clawback"}, amounts={"P2": "50.50"})
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli("payouts", "release", "--db", str(db), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would pay P1: 100.00 EUR" in out and "would pay 2 payouts: 150.50 EUR" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no ledger, no payments folder

    assert cli("payouts", "release", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "paid 2 payouts: 150.50 EUR" in out and IBAN not in out
    assert payouts.release(db, dry_run=True)["paid"] == []


# --- review fixes ------------------------------------------------------------------------------------


def test_clawbacks_of_later_clean_reports_do_not_list_a_payout_again(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release"})
    payouts.release(db)
    run2 = publish(db, "run-2", {"P1": "clawback"}, as_of="2026-03-02", reasons={"P1": "serial_rereferral"})
    assert payouts.release(db)["clawbacks_listed"] == 1
    run3 = publish(db, "run-3", {"P1": "clawback", "P2": "release"}, as_of="2026-03-03",
                   reasons={"P1": "serial_rereferral;self_referral"})
    assert payouts.load_verified_report(run2)[0]["report_sha256"] != payouts.load_verified_report(run3)[0]["report_sha256"]
    assert payouts.release(db)["clawbacks_listed"] == 0
    rows = payouts.clawbacks(db)
    assert [(c["payout_id"], c["run_id"], c["reasons"], c["amount"], c["state"]) for c in rows] == [
        ("P1", "run-2", "serial_rereferral", "100.00", "listed")
    ]
    capsys.readouterr()
    assert cli("payouts", "clawbacks", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "1 payouts listed for clawback" in out and out.count("P1:") == 1


def test_decide_records_the_patterns_of_the_newest_report(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    assert payouts.decide(db, "P1", "hold", "ana", "nothing published yet")["reasons_seen"] == ""
    publish(db, "run-1", {"P1": "hold", "P2": "release"}, reasons={"P1": "velocity_spike;anomaly"})
    assert payouts.decide(db, "P1", "release", "ana", "a busy season")["reasons_seen"] == "velocity_spike;anomaly"
    assert payouts.decide(db, "P9", "void", "ana", "not in the report")["reasons_seen"] == ""
    # a later report finds more; the analyst's release still records only what the analyst saw
    publish(db, "run-2", {"P1": "hold", "P2": "release"}, as_of="2026-03-02",
            reasons={"P1": "velocity_spike;anomaly;self_referral"})
    latest = {d["payout_id"]: d for d in ledger.analyst_decisions(db)}
    assert latest["P1"]["decision"] == "release" and latest["P1"]["reasons_seen"] == "velocity_spike;anomaly"
    assert latest["P9"]["reasons_seen"] == ""
    capsys.readouterr()
    assert cli("payouts", "show", "P1", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "release by ana: a busy season (patterns seen: velocity_spike;anomaly)" in out
    assert "hold by ana: nothing published yet (patterns seen: none)" in out


@pytest.mark.parametrize("where", ["report_json", "decision_rows"])
def test_report_whose_run_id_is_not_its_folder_is_refused_and_nothing_paid(tmp_path, capsys, where):
    db = tmp_path / "bg.duckdb"
    run_dir = publish(db, "run-1", FIVE)
    if where == "report_json":
        report = json.loads((run_dir / "report.json").read_text())
        report["run_id"] = "run-0"  # run_id is not covered by report_sha256
        write_json(run_dir / "report.json", report)
    else:
        path = run_dir / "payout_decisions.csv"
        path.write_text(path.read_text().replace(",run-1,", ",run-0,"))
    with pytest.raises(ReportIntegrityError, match="run-0.*nothing is paid"):
        payouts.release(db)
    assert cli("payouts", "release", "--db", str(db)) == 2
    err = capsys.readouterr().err
    assert "bg.published/run-1" in err and "run-0" in err and "Traceback" not in err
    assert payments(db) == []
    assert ledger_states(db) == {}


def test_release_decision_is_refused_when_the_newest_report_cannot_be_verified(tmp_path):
    db = tmp_path / "bg.duckdb"
    run_dir = publish(db, "run-1", {"P1": "hold", "P2": "release"}, reasons={"P1": "velocity_spike"})
    path = run_dir / "payout_decisions.csv"
    path.write_text(path.read_text().replace("P1,hold,velocity_spike", "P1,hold,"))
    with pytest.raises(BountyguardError, match="release of payout P1 is not recorded"):
        payouts.decide(db, "P1", "release", "ana", "looks fine")
    # stopping a payment never waits for a report
    assert payouts.decide(db, "P2", "void", "ana", "sock puppet")["reasons_seen"] == ""
    assert [(d["payout_id"], d["decision"]) for d in ledger.analyst_decisions(db)] == [("P2", "void")]
