"""The published report's digest covers the whole report and its decisions: a reader refuses a
report changed after publishing, whichever part was changed."""
import json

import pytest

from bountyguard import pipeline
from bountyguard.errors import ReportIntegrityError
from bountyguard.report import latest_published, load_verified_report
from tests.builders import Platform


@pytest.fixture
def published(tmp_path):
    p = Platform()
    p.job("J1", "C1")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    p.referred_hire("2", "R2", "K2", "J1", started="2026-01-05", ended="2026-02-01")
    summary = pipeline.run(p.write_landing(tmp_path / "landing"), tmp_path / "bg.duckdb", "2026-06-30")
    return latest_published(tmp_path / "bg.duckdb"), summary


def edit_report(run_dir, change):
    path = run_dir / "report.json"
    report = json.loads(path.read_text())
    change(report)
    path.write_text(json.dumps(report))


def test_untouched_report_verifies(published):
    run_dir, summary = published
    report, decisions, batch = load_verified_report(run_dir)
    assert report["report_sha256"] == summary["report_sha256"]
    assert [d["payout_id"] for d in decisions] == ["P1", "P2"]
    assert [b["payout_id"] for b in batch] == ["P1"]


@pytest.mark.parametrize("change", [
    lambda r: r.update(status="clean" if r["status"] != "clean" else "not_clean"),
    lambda r: r["decision_counts"].update(release=999),
    lambda r: r["config"]["decisions"].update(hold_severities=[]),
    lambda r: r["tables"]["payouts"].update(rows_rejected=0, rows_in=99),
    lambda r: r.update(run_id="FAKE"),
    lambda r: r["validation"].update(failed=7),
])
def test_any_edit_of_the_report_is_refused(published, change):
    run_dir, _ = published
    edit_report(run_dir, change)
    with pytest.raises(ReportIntegrityError):
        load_verified_report(run_dir)


def test_an_edited_decision_row_is_refused(published):
    run_dir, _ = published
    path = run_dir / "payout_decisions.csv"
    path.write_text(path.read_text().replace("P2,void,early_exit", "P2,release,"))
    with pytest.raises(ReportIntegrityError, match="changed after it was published"):
        load_verified_report(run_dir)


def test_release_batch_carries_normalised_valid_ibans_only(tmp_path):
    p = Platform()
    p.job("J1", "C1")
    p.add("referrers", referrer_id="R1", payout_iban="de89 3704 0044 0532 0130 00")
    p.add("referrers", referrer_id="R2", payout_iban=None)  # no account on file yet
    p.add("referrers", referrer_id="R3", payout_iban="DE89-3704-0044-0532-0130-01")  # check digits fail
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    p.referred_hire("2", "R2", "K2", "J1", started="2026-03-02")
    p.referred_hire("3", "R3", "K3", "J1", started="2026-03-02")
    pipeline.run(p.write_landing(tmp_path / "landing"), tmp_path / "bg.duckdb", "2026-06-30")
    report, decisions, batch = load_verified_report(latest_published(tmp_path / "bg.duckdb"))
    # released without an account: listed with an empty payee, waiting in the payout job
    assert {b["payout_id"]: b["payee_iban"] for b in batch} == {"P1": "DE89370400440532013000", "P2": ""}
    # a mistyped account is quarantined: its payout is held, never sent to the wrong account
    assert {d["payout_id"]: (d["decision"], d["reasons"]) for d in decisions}["P3"] == ("hold", "data_inconsistent")


def test_export_refuses_a_changed_report(published, tmp_path):
    from bountyguard.cli import main

    run_dir, _ = published
    edit_report(run_dir, lambda r: r["decision_counts"].update(release=999))
    assert main(["export", "--db", str(tmp_path / "bg.duckdb"), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out" / "report.json").exists()


def test_the_contract_checker_is_at_hand():
    """Every run the tests publish is checked by ../shared/tools/check_export.py (tests/conftest.py);
    in CI its absence fails here, once, instead of silently checking nothing."""
    import os

    from tests.conftest import CHECKER

    if not CHECKER.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHECKER} is missing: the contract checker must run on every published run in CI")
        pytest.skip(f"{CHECKER} is not beside the repository: published runs are not checked against the contract")
