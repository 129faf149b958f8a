"""report_sha256 is a keyed signature: someone who can write the published folder but does not hold
the key cannot change a decision or an IBAN and re-hash their way past the payout job."""
from __future__ import annotations

import csv
import hashlib
import json
import secrets
from pathlib import Path

import pytest

from bountyguard import cli, payouts, pipeline
from bountyguard.config import canonical_json
from bountyguard.errors import ReportIntegrityError
from bountyguard.payment_provider import payments_dir
from bountyguard.report import NOT_DIGESTED, RELEASE_BATCH_FILE, file_sha256, latest_published, load_verified_report
from bountyguard.signing import KEYS_ENV, SigningKeyError
from tests.builders import Platform

OTHER_IBAN = "GB82WEST12345698765432"


def new_key(key_id: str) -> str:
    return f"{key_id}:{secrets.token_hex(32)}"


@pytest.fixture
def screened(tmp_path, monkeypatch):
    monkeypatch.setenv(KEYS_ENV, new_key("k1"))
    p = Platform()
    p.job("J1", "C1")
    p.add("referrers", referrer_id="R1", payout_iban="DE89 3704 0044 0532 0130 00")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    p.referred_hire("2", "R2", "K2", "J1", started="2026-01-05", ended="2026-02-01")
    db = tmp_path / "bg.duckdb"
    pipeline.run(p.write_landing(tmp_path / "landing"), db, "2026-06-30")
    return db, latest_published(db)


def paid(db: Path) -> list[dict]:
    path = payments_dir(db) / "instructions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def rehash_without_key(run_dir: Path) -> None:
    """What a forger without the key can do: recompute every plain SHA-256 the files carry."""
    report = json.loads((run_dir / "report.json").read_text())
    report["release_batch_sha256"] = file_sha256(run_dir / RELEASE_BATCH_FILE)
    with open(run_dir / "payout_decisions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    body = {k: v for k, v in report.items() if k not in NOT_DIGESTED}
    body["decisions"] = sorted([r["payout_id"], r["decision"], r["reasons"]] for r in rows)
    forged = hashlib.sha256(canonical_json(body).encode()).hexdigest()
    report["report_sha256"] = forged
    for r in rows:
        r["report_sha256"] = forged
    with open(run_dir / "payout_decisions.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (run_dir / "report.json").write_text(json.dumps(report))


def test_report_names_its_key_and_never_holds_the_secret(screened):
    db, run_dir = screened
    import os

    secret = os.environ[KEYS_ENV].partition(":")[2]
    text = (run_dir / "report.json").read_text()
    report = json.loads(text)
    assert report["report_key_id"] == "k1"
    assert len(report["report_sha256"]) == 64
    assert secret not in text
    for path in run_dir.parent.parent.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".csv", ".log", ".html"):
            assert secret not in path.read_text(errors="replace"), path


def test_same_inputs_same_key_same_signature_other_key_other_signature(tmp_path, monkeypatch):
    p = Platform()
    p.job("J1", "C1")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    landing = p.write_landing(tmp_path / "landing")
    key = new_key("k1")
    monkeypatch.setenv(KEYS_ENV, key)
    a = pipeline.run(landing, tmp_path / "a.duckdb", "2026-06-30")["report_sha256"]
    b = pipeline.run(landing, tmp_path / "b.duckdb", "2026-06-30")["report_sha256"]
    monkeypatch.setenv(KEYS_ENV, new_key("k1"))
    c = pipeline.run(landing, tmp_path / "c.duckdb", "2026-06-30")["report_sha256"]
    assert a == b != c


@pytest.mark.parametrize("tamper", ["batch_iban", "decision"])
def test_rehashed_tampering_is_refused_and_nothing_paid(screened, capsys, tamper):
    db, run_dir = screened
    if tamper == "batch_iban":
        path = run_dir / RELEASE_BATCH_FILE
        path.write_text(path.read_text().replace("DE89370400440532013000", OTHER_IBAN))
    else:
        path = run_dir / "payout_decisions.csv"
        path.write_text(path.read_text().replace("P2,void,early_exit", "P2,release,"))
    rehash_without_key(run_dir)
    with pytest.raises(ReportIntegrityError, match="does not verify under key 'k1'"):
        load_verified_report(run_dir)
    assert cli.main(["payouts", "release", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "nothing is paid" in err and "Traceback" not in err
    assert paid(db) == []


def test_key_rotation_accepts_listed_keys_and_refuses_retired_ones(screened, monkeypatch):
    db, run_dir = screened
    import os

    old = os.environ[KEYS_ENV]
    monkeypatch.setenv(KEYS_ENV, f"{new_key('k2')},{old}")  # k2 signs from now on, k1 still verifies
    load_verified_report(run_dir)
    monkeypatch.setenv(KEYS_ENV, new_key("k2"))  # k1 retired
    with pytest.raises(ReportIntegrityError, match="'k1', which is not an accepted key"):
        load_verified_report(run_dir)
    monkeypatch.setenv(KEYS_ENV, new_key("k1"))  # same id, another secret: a forger's key
    with pytest.raises(ReportIntegrityError, match="does not verify"):
        load_verified_report(run_dir)


def test_no_key_configured_fails_closed(screened, monkeypatch, capsys, tmp_path):
    db, run_dir = screened
    monkeypatch.delenv(KEYS_ENV)
    with pytest.raises(SigningKeyError, match=f"{KEYS_ENV} is not set"):
        payouts.release(db)
    assert cli.main(["payouts", "release", "--db", str(db)]) == 2
    assert f"{KEYS_ENV} is not set" in capsys.readouterr().err
    assert paid(db) == []
    # nor does a screening run start without a key to sign its report with
    landing = run_dir.parent.parent / "landing"
    assert cli.main(["run", "--landing", str(landing), "--db", str(tmp_path / "x.duckdb"), "--as-of", "2026-06-30"]) == 2
    assert f"{KEYS_ENV} is not set" in capsys.readouterr().err


@pytest.mark.parametrize("value, problem", [
    ("nocolon", "is not key_id:secret"),
    ("k1:tiny5ecret", "shorter than 32"),
    (f"k1:{'a' * 40},k1:{'b' * 40}", "listed twice"),
])
def test_malformed_keys_are_refused_without_echoing_them(monkeypatch, value, problem):
    monkeypatch.setenv(KEYS_ENV, value)
    with pytest.raises(SigningKeyError, match=problem) as info:
        pipeline.start_run("/nonexistent.duckdb", ".", "2026-06-30")
    assert value.partition(":")[2][:8] not in str(info.value) or value == "nocolon"


def test_a_report_without_key_id_is_refused(screened):
    db, run_dir = screened
    report = json.loads((run_dir / "report.json").read_text())
    del report["report_key_id"]
    (run_dir / "report.json").write_text(json.dumps(report))
    with pytest.raises(ReportIntegrityError, match="names no signing key"):
        load_verified_report(run_dir)
