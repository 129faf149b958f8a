"""Money that fails to move: rejected payments reach a final state with their reason and wait for an
analyst (retry to a corrected account, or void; both audited); a timed-out payment is re-sent with the
same idempotency key and paid once; settlement files confirm sent payments; clawbacks end recovered
or written off. Real ledger, real published reports, the file provider underneath."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bountyguard import cli, ledger, payouts
from bountyguard.config import load_config
from bountyguard.payment_provider import (
    FilePaymentProvider,
    PaymentProviderError,
    PaymentRejectedError,
    PaymentTimeoutError,
)
from tests.test_payouts import IBAN, payments, publish

CLOSED_IBAN = "GB82WEST12345698765432"
CORRECTED_IBAN = "FR14 2004 1010 0505 0001 3M02 606"


class BankWithClosedAccount(FilePaymentProvider):
    """Rejects every payment to CLOSED_IBAN for good; counts what it was asked to send."""

    def __init__(self, db):
        super().__init__(db)
        self.asked: list[tuple[str, str]] = []

    def send(self, instruction, idempotency_key):
        self.asked.append((instruction["payout_id"], idempotency_key))
        if instruction["payee_iban"] == CLOSED_IBAN:
            raise PaymentRejectedError("account closed (AC04)")
        return super().send(instruction, idempotency_key)


class BankThatLosesAnswers(FilePaymentProvider):
    """Makes the payment, then the answer is lost (a timeout) the first `lost` times."""

    def __init__(self, db, lost: int):
        super().__init__(db)
        self.lost = lost
        self.keys: list[str] = []

    def send(self, instruction, idempotency_key):
        self.keys.append(idempotency_key)
        reference = super().send(instruction, idempotency_key)
        if self.lost:
            self.lost -= 1
            raise PaymentTimeoutError("no answer within 30 s")
        return reference


def states(db) -> dict[str, str]:
    con = ledger.open_ledger_readonly(db)
    try:
        return {p: r["state"] for p, r in ledger.release_rows(con).items()}
    finally:
        con.close()


def events(db, payout_id) -> list[tuple[str, str]]:
    con = ledger.open_ledger_readonly(db)
    try:
        return [(e["event"], e["actor"]) for e in ledger.payment_events(con, payout_id)]
    finally:
        con.close()


@pytest.fixture
def rejected(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release", "P2": "release"}, ibans={"P1": CLOSED_IBAN})
    bank = BankWithClosedAccount(db)
    summary = payouts.release(db, provider=bank)
    assert summary["rejected"] == [{"payout_id": "P1", "reason": "account closed (AC04)"}]
    assert [p["payout_id"] for p in summary["paid"]] == ["P2"]  # one rejection does not stop the batch
    return db, bank


def test_a_rejected_payment_gets_a_final_state_with_its_reason_and_is_listed(rejected, capsys):
    db, bank = rejected
    assert states(db) == {"P1": "failed", "P2": "sent"}
    assert cli.main(["payouts", "failed", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "1 payments rejected" in out and "P1: 100.00 EUR; attempt 1; account closed (AC04)" in out
    # later runs never send it again by themselves
    payouts.release(db, provider=bank)
    assert [p for p, _ in bank.asked] == ["P1", "P2"]
    assert ledger.paid_payout_ids(db) == ["P2"]  # no money moved for P1


def test_retry_to_a_corrected_account_pays_once_under_a_new_key(rejected, capsys):
    db, bank = rejected
    assert cli.main(["payouts", "retry", "P1", "--db", str(db), "--iban", "GB82-WEST-1234-5698-7654-33",
                     "--by", "anna", "--reason", "new account"]) == 2  # a mistyped IBAN changes nothing
    assert states(db)["P1"] == "failed"
    assert cli.main(["payouts", "retry", "P1", "--db", str(db), "--iban", CORRECTED_IBAN,
                     "--by", "anna", "--reason", "referrer sent a new account"]) == 0
    assert CORRECTED_IBAN not in capsys.readouterr().out
    summary = payouts.release(db, provider=bank)
    assert [p["payout_id"] for p in summary["paid"]] == ["P1"]
    payouts.release(db, provider=bank)
    sent = [p for p in payments(db) if p["payout_id"] == "P1"]
    assert len(sent) == 1 and sent[0]["payee_iban"] == CORRECTED_IBAN.replace(" ", "")
    first_key, retry_key = [k for p, k in bank.asked if p == "P1"]
    assert first_key != retry_key == sent[0]["idempotency_key"]
    assert states(db)["P1"] == "sent"
    assert events(db, "P1") == [("rejected", "provider"), ("retried", "anna")]
    cli.main(["payouts", "show", "P1", "--db", str(db)])
    assert "payment retried" in capsys.readouterr().out


def test_void_of_a_rejected_payment_is_audited_and_final(rejected, capsys):
    db, bank = rejected
    assert cli.main(["payouts", "void", "P1", "--db", str(db), "--by", "anna", "--reason", "referrer left"]) == 0
    assert states(db)["P1"] == "voided"
    assert events(db, "P1")[-1] == ("voided", "anna")
    assert {d["payout_id"]: d["decision"] for d in ledger.analyst_decisions(db)} == {"P1": "void"}
    assert cli.main(["payouts", "retry", "P1", "--db", str(db), "--iban", CORRECTED_IBAN,
                     "--by", "bob", "--reason", "oops"]) == 2
    assert "not a failed payment" in capsys.readouterr().err
    payouts.release(db, provider=bank)
    assert [p["payout_id"] for p in payments(db)] == ["P2"]


def test_a_timed_out_payment_is_resent_with_the_same_key_and_paid_once(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release"})
    bank = BankThatLosesAnswers(db, lost=2)
    summary = payouts.release(db, provider=bank, config=load_config())
    assert [p["payout_id"] for p in summary["paid"]] == ["P1"]
    assert len(set(bank.keys)) == 1 and len(bank.keys) == 3
    assert [p["payout_id"] for p in payments(db)] == ["P1"]
    assert states(db) == {"P1": "sent"}
    assert [e for e, _ in events(db, "P1")] == ["timed_out", "timed_out"]


def test_a_payment_that_keeps_timing_out_stays_claimed_and_the_next_run_pays_it_once(tmp_path):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release"})
    bank = BankThatLosesAnswers(db, lost=10)
    with pytest.raises(PaymentProviderError, match="re-sent by the next release run"):
        payouts.release(db, provider=bank, config=load_config())
    assert len(bank.keys) == load_config()["payouts"]["send_attempts"]
    assert states(db) == {"P1": "intent"}
    payouts.release(db)
    assert [p["payout_id"] for p in payments(db)] == ["P1"]
    assert states(db) == {"P1": "sent"}


def test_settlement_file_confirms_exact_matches_only(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "release", "P2": "release"})
    paid = {p["payout_id"]: p for p in payouts.release(db)["paid"]}
    settlement = tmp_path / "settlement.csv"
    with open(settlement, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["payout_id", "provider_reference", "amount", "currency"])
        w.writerow(["P1", paid["P1"]["reference"], "100.00", "EUR"])
        w.writerow(["P2", paid["P2"]["reference"], "90.00", "EUR"])  # not what was sent
        w.writerow(["P9", "file:9", "100.00", "EUR"])  # never sent
    assert cli.main(["payouts", "settle", "--db", str(db), "--file", str(settlement)]) == 1
    out = capsys.readouterr().out
    assert "confirmed 1 payments" in out and "NOT confirmed: P2" in out and "NOT confirmed: P9" in out
    assert states(db) == {"P1": "confirmed", "P2": "sent"}
    assert cli.main(["payouts", "settle", "--db", str(db), "--file", str(settlement)]) == 1
    assert "already confirmed 1" in capsys.readouterr().out
    out_csv = ledger.export_ledger_csv(db, tmp_path / "ledger.csv")
    assert {r["payout_id"] for r in csv.DictReader(open(out_csv))} == {"P1", "P2"}


def test_clawbacks_end_recovered_or_written_off_once(tmp_path, capsys):
    db = tmp_path / "bg.duckdb"
    publish(db, "run-1", {"P1": "clawback", "P2": "clawback"}, reasons={"P1": "self_referral", "P2": "self_referral"})
    assert len(payouts.clawbacks(db)) == 2
    assert cli.main(["payouts", "clawback", "P1", "--db", str(db), "--recovered", "--by", "anna",
                     "--reason", "bank return 2026-03-09"]) == 0
    assert cli.main(["payouts", "clawback", "P2", "--db", str(db), "--written-off", "--by", "anna",
                     "--reason", "referrer insolvent"]) == 0
    assert cli.main(["payouts", "clawback", "P2", "--db", str(db), "--recovered", "--by", "bob",
                     "--reason", "again"]) == 2
    assert "already written_off" in capsys.readouterr().err
    assert {r["payout_id"]: r["state"] for r in payouts.clawbacks(db)} == {"P1": "recovered", "P2": "written_off"}
    assert events(db, "P2") == [("written_off", "anna")]
    raw = ledger.open_ledger(db)
    with pytest.raises(Exception, match="append-only"):
        raw.execute("DELETE FROM payment_events")
    raw.close()
