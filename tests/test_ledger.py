"""The payout ledger: append-only audit trail, fixed money history, ledger.csv, the file provider."""
from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from bountyguard import ledger
from bountyguard.payment_provider import (
    FilePaymentProvider,
    PaymentProviderError,
    make_provider,
    payments_dir,
)

INSTRUCTION = {"payout_id": "P1", "referrer_id": "R1", "amount": "250.00", "currency": "EUR",
               "payee_iban": "DE89370400440532013000", "report_sha256": "abc", "run_id": "run-1"}


def claim(con, instruction, run="run-a"):
    with ledger.immediate(con):
        ledger.insert_intent(con, instruction, ledger.idempotency_key(instruction["payout_id"]), run,
                             json.dumps(instruction))


def test_audit_trail_refuses_update_and_delete(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = ledger.open_ledger(db)
    ledger.append_analyst_decision(con, "P1", "void", "ana", "self referral confirmed")
    con.close()
    raw = sqlite3.connect(ledger.ledger_path(db))  # any client, not only bountyguard's functions
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE analyst_decisions SET decision = 'release'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM analyst_decisions")
    assert raw.execute("SELECT payout_id, decision, decided_by FROM analyst_decisions").fetchall() == [
        ("P1", "void", "ana")
    ]


def test_release_rows_are_never_deleted_nor_their_amount_changed(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = ledger.open_ledger(db)
    claim(con, INSTRUCTION)
    with pytest.raises(sqlite3.DatabaseError, match="never"):
        con.execute("UPDATE releases SET amount = '1.00'")
    with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
        con.execute("DELETE FROM releases")


def test_a_payout_can_be_claimed_only_once_even_from_another_report(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = ledger.open_ledger(db)
    claim(con, INSTRUCTION)
    with pytest.raises(sqlite3.IntegrityError):
        claim(con, {**INSTRUCTION, "report_sha256": "another-report", "run_id": "run-2"}, run="run-b")
    assert list(ledger.release_rows(con)) == ["P1"]


def test_latest_analyst_decision_wins_and_missing_ledger_means_none(tmp_path):
    db = tmp_path / "bg.duckdb"
    assert ledger.analyst_decisions(db) == []
    assert not ledger.ledger_path(db).exists()  # reading does not create the ledger
    con = ledger.open_ledger(db)
    ledger.append_analyst_decision(con, "P1", "hold", "ana", "check")
    ledger.append_analyst_decision(con, "P2", "void", "ana", "ring")
    ledger.append_analyst_decision(con, "P1", "release", "ben", "checked")
    latest = {d["payout_id"]: (d["decision"], d["decided_by"]) for d in ledger.analyst_decisions(db)}
    assert latest == {"P1": ("release", "ben"), "P2": ("void", "ana")}
    with pytest.raises(ledger.LedgerError, match="must be one of"):
        ledger.append_analyst_decision(con, "P1", "clawback", "ana", "x")


def test_ledger_csv_has_the_contract_columns_and_only_released_payouts(tmp_path):
    db = tmp_path / "bg.duckdb"
    out = tmp_path / "export"
    out.mkdir()
    con = ledger.open_ledger(db)
    claim(con, INSTRUCTION)
    claim(con, {**INSTRUCTION, "payout_id": "P2", "amount": "80.00"})  # claimed, not yet sent
    ledger.mark_sent(con, ledger.idempotency_key("P1"), "file", "file:1")
    path = ledger.export_ledger_csv(db, out)
    assert path == out / "ledger.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["payout_id", "amount", "currency", "report_sha256", "idempotency_key", "released_at"]
    assert [r[:5] for r in rows[1:]] == [["P1", "250.00", "EUR", "abc", ledger.idempotency_key("P1")]]
    assert rows[1][5].endswith("Z")
    # the in-flight instruction (with the IBAN) is not kept once the payout is sent
    assert con.execute("SELECT instruction FROM releases WHERE payout_id = 'P1'").fetchone()[0] is None


def test_ledger_csv_without_a_ledger_is_the_header_alone(tmp_path):
    path = ledger.export_ledger_csv(tmp_path / "bg.duckdb", tmp_path / "ledger.csv")
    assert path.read_text().splitlines() == ["payout_id,amount,currency,report_sha256,idempotency_key,released_at"]


def test_file_provider_deduplicates_by_key_across_instances(tmp_path):
    db = tmp_path / "bg.duckdb"
    key = ledger.idempotency_key("P1")
    first = FilePaymentProvider(db).send(INSTRUCTION, key)
    again = FilePaymentProvider(db).send(INSTRUCTION, key)  # another process, same key
    other = FilePaymentProvider(db).send({**INSTRUCTION, "payout_id": "P2"}, ledger.idempotency_key("P2"))
    lines = (payments_dir(db) / "instructions.jsonl").read_text().splitlines()
    assert first == again != other
    assert [json.loads(line)["payout_id"] for line in lines] == ["P1", "P2"]
    with pytest.raises(PaymentProviderError, match="other amount"):
        FilePaymentProvider(db).send({**INSTRUCTION, "amount": "999.00"}, key)


def test_file_provider_refuses_to_guess_over_a_torn_line(tmp_path):
    db = tmp_path / "bg.duckdb"
    provider = FilePaymentProvider(db)
    provider.send(INSTRUCTION, ledger.idempotency_key("P1"))
    with open(provider.path, "a") as f:
        f.write('{"payout_id": "P2", "amo')
    with pytest.raises(PaymentProviderError, match="line 2"):
        FilePaymentProvider(db).send({**INSTRUCTION, "payout_id": "P3"}, ledger.idempotency_key("P3"))


def test_provider_is_chosen_by_configuration(tmp_path):
    db = tmp_path / "bg.duckdb"
    assert isinstance(make_provider(db, {}), FilePaymentProvider)
    assert isinstance(make_provider(db, {"payouts": {"provider": "file"}}), FilePaymentProvider)
    with pytest.raises(PaymentProviderError, match="cannot load"):
        make_provider(db, {"payouts": {"provider": "no_such_module:Bank"}})
    with pytest.raises(PaymentProviderError, match="not a PaymentProvider"):
        make_provider(db, {"payouts": {"provider": "json:JSONDecoder"}})


def test_paid_payout_ids_counts_every_release_state_and_only_reads(tmp_path):
    db = tmp_path / "bg.duckdb"
    assert ledger.paid_payout_ids(db) == []
    assert not ledger.ledger_path(db).exists()  # reading does not create the ledger
    con = ledger.open_ledger(db)
    claim(con, {**INSTRUCTION, "payout_id": "P2"})  # claimed: money may already have moved
    claim(con, INSTRUCTION)
    ledger.mark_sent(con, ledger.idempotency_key("P1"), "file", "file:1")
    ledger.append_analyst_decision(con, "P3", "release", "ana", "checked")  # decided, never paid
    with ledger.immediate(con):
        ledger.list_clawbacks(con, {"report_sha256": "r", "run_id": "run-1"}, [{"payout_id": "P4", "decision": "clawback", "reasons": "x"}])
    con.close()
    assert ledger.paid_payout_ids(db) == ["P1", "P2"]


def test_a_clawback_is_listed_once_per_payout_whatever_report_lists_it_again(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = ledger.open_ledger(db)
    claim(con, INSTRUCTION)
    first = {"report_sha256": "sha-day-1", "run_id": "run-1"}
    second = {"report_sha256": "sha-day-2", "run_id": "run-2"}
    with ledger.immediate(con):
        assert ledger.list_clawbacks(con, first, [{"payout_id": "P1", "decision": "clawback", "reasons": "early_exit"}]) == 1
    with ledger.immediate(con):
        assert ledger.list_clawbacks(con, second, [{"payout_id": "P1", "decision": "clawback", "reasons": "early_exit;self_referral"}]) == 0
    rows = ledger.clawback_rows(con)
    assert [(r["payout_id"], r["report_sha256"], r["run_id"], r["reasons"], r["amount"], r["state"]) for r in rows] == [
        ("P1", "sha-day-1", "run-1", "early_exit", "250.00", "listed")
    ]


def test_analyst_decisions_keep_the_patterns_seen_and_stay_append_only(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = ledger.open_ledger(db)
    ledger.append_analyst_decision(con, "P1", "release", "ana", "checked", reasons_seen="velocity_spike;anomaly")
    d = ledger.append_analyst_decision(con, "P2", "hold", "ana", "check")
    assert d["reasons_seen"] == ""
    con.close()
    assert {x["payout_id"]: x["reasons_seen"] for x in ledger.analyst_decisions(db)} == {
        "P1": "velocity_spike;anomaly", "P2": ""}
    raw = sqlite3.connect(ledger.ledger_path(db))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE analyst_decisions SET reasons_seen = 'self_referral'")


def test_a_ledger_of_an_older_schema_is_refused_not_misread(tmp_path):
    db = tmp_path / "bg.duckdb"
    old = sqlite3.connect(ledger.ledger_path(db))
    old.execute("CREATE TABLE releases (payout_id TEXT)")
    old.execute("INSERT INTO releases VALUES ('P1')")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with pytest.raises(ledger.LedgerError, match="schema version 1"):
        ledger.open_ledger(db)
    with pytest.raises(ledger.LedgerError, match="schema version 1"):
        ledger.paid_payout_ids(db)  # never "nothing paid" for a ledger that holds payments
