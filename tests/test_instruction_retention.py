"""The file payment provider's instructions.jsonl holds payees' IBANs: owner-only from creation, and
each release run removes the IBAN of instructions past `[payouts] payment_instruction_retention_days`
while their idempotency keys keep refusing a second payment."""
from __future__ import annotations

import datetime as dt
import json
import stat

import pytest

from bountyguard import payment_provider, payouts
from bountyguard.config import load_config
from bountyguard.payment_provider import FilePaymentProvider, PaymentProviderError, payments_dir

from tests.test_payouts import IBAN, payments, publish

T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
OTHER_IBAN = "GB82 WEST 1234 5698 7654 32"


def instruction(payout_id: str, iban: str, amount: str = "100.00") -> dict:
    return {"payout_id": payout_id, "referrer_id": "R-" + payout_id, "amount": amount, "currency": "EUR",
            "payee_iban": iban, "report_sha256": "sig", "run_id": "20260101-001"}


def send_at(monkeypatch, provider: FilePaymentProvider, when: dt.datetime, item: dict, key: str) -> str:
    monkeypatch.setattr(payment_provider, "_utc_now", lambda: when)
    return provider.send(item, key)


def test_instructions_lose_their_iban_after_the_retention_and_keys_are_never_paid_twice(tmp_path, monkeypatch):
    db = tmp_path / "bg.duckdb"
    provider = FilePaymentProvider(db)
    assert send_at(monkeypatch, provider, T0, instruction("P1", IBAN), "k-P1") == "file:1"
    assert send_at(monkeypatch, provider, T0 + dt.timedelta(days=30), instruction("P2", OTHER_IBAN), "k-P2") == "file:2"
    path = payments_dir(db) / "instructions.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    assert provider.purge_expired(35, now=T0 + dt.timedelta(days=34)) == 0  # none old enough yet
    assert provider.purge_expired(35, now=T0 + dt.timedelta(days=40)) == 1
    text = path.read_text(encoding="utf-8")
    assert IBAN not in text and OTHER_IBAN in text  # P1's IBAN is gone, P2's is still within retention
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the rewritten file is owner-only too
    first, second = payments(db)
    assert first["pruned"] and "payee_iban" not in first and first["reference"] == "file:1"
    assert first["idempotency_key"] == "k-P1" and first["amount"] == "100.00"
    assert second["payee_iban"] == OTHER_IBAN

    # the pruned key is still known: to this provider, and to a new one (another payout run)
    for sender in (provider, FilePaymentProvider(db)):
        assert sender.send(instruction("P1", IBAN), "k-P1") == "file:1"
        with pytest.raises(PaymentProviderError, match="already used with other amount"):
            sender.send(instruction("P1", IBAN, amount="999.00"), "k-P1")
    assert len(payments(db)) == 2  # nothing was sent again
    assert provider.send(instruction("P3", IBAN), "k-P3") == "file:3"  # references stay line numbers


def test_lines_written_before_lines_had_a_time_are_kept_for_a_full_retention(tmp_path, monkeypatch):
    db = tmp_path / "bg.duckdb"
    provider = FilePaymentProvider(db)
    send_at(monkeypatch, provider, T0, instruction("P1", IBAN), "k-P1")
    path = payments_dir(db) / "instructions.jsonl"
    legacy = payments(db)[0]
    del legacy["sent_at"]
    path.write_text(json.dumps(legacy) + "\n", encoding="utf-8")
    provider = FilePaymentProvider(db)
    assert provider.purge_expired(35, now=T0 + dt.timedelta(days=400)) == 0  # stamped with that time
    assert payments(db)[0]["sent_at"] == (T0 + dt.timedelta(days=400)).isoformat(timespec="seconds")
    assert provider.purge_expired(35, now=T0 + dt.timedelta(days=436)) == 1
    assert IBAN not in path.read_text(encoding="utf-8")


def test_a_release_run_prunes_with_the_configured_retention(tmp_path, monkeypatch):
    db = tmp_path / "bg.duckdb"
    publish(db, "20260101-001", {"P0": "release"}, ibans={"P0": OTHER_IBAN})
    monkeypatch.setattr(payment_provider, "_utc_now", lambda: T0)  # paid long ago
    payouts.release(db)
    monkeypatch.undo()
    publish(db, "20260301-001", {"P1": "release"})
    config = load_config()
    config["payouts"]["payment_instruction_retention_days"] = 35
    summary = payouts.release(db, config=config)
    assert [p["payout_id"] for p in summary["paid"]] == ["P1"] and summary["instructions_pruned"] == 1
    text = (payments_dir(db) / "instructions.jsonl").read_text(encoding="utf-8")
    assert OTHER_IBAN not in text and IBAN in text  # today's payment keeps its IBAN
