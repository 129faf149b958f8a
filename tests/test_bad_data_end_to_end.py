"""Issue "right on data it did not write", end to end on the independent world (bountyguard.evaluation.fieldworld):
late referrals, IBANs typed with dashes and dots, and one inconsistent payout row give a clean report
in which only the touched payouts are held, each with a reason; more bad rows than the configured
rate make the report not_clean, with every due payout held with data_not_clean."""
import csv
from pathlib import Path

import pytest

from bountyguard import pipeline
from bountyguard.evaluation.fieldworld import generate

AS_OF = "2026-06-30"


def _rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("field")
    generate(out, seed=5, scale=0.3, as_of=AS_OF)
    return out


def _decisions(summary) -> dict[str, tuple[str, str]]:
    _, rows = _rows(Path(summary["published_dir"]) / "payout_decisions.csv")
    return {r["payout_id"]: (r["decision"], r["reasons"]) for r in rows}


def _copy_landing(world: Path, to: Path) -> Path:
    to.mkdir()
    for f in (world / "landing").iterdir():
        (to / f.name).write_bytes(f.read_bytes())
    return to


def test_late_referrals_dashed_ibans_and_one_inconsistent_payout_give_a_clean_report(world, tmp_path):
    landing = _copy_landing(world, tmp_path / "landing")
    header, referrers = _rows(landing / "referrers.csv")
    dashed = [r for r in referrers if r["payout_iban"] and "-" in r["payout_iban"]]
    assert dashed, "the independent world types some IBANs with dashes"
    header_p, payouts = _rows(landing / "payouts.csv")
    due = [p for p in payouts if p["status"] == "pending" and p["eligible_at"] <= AS_OF]
    victim = due[len(due) // 2]
    victim["amount"] = str(round(float(victim["amount"]) * 3, 2))  # not its job's bounty
    _write(landing / "payouts.csv", header_p, payouts)

    db = tmp_path / "bg.duckdb"
    summary = pipeline.run(landing, db, AS_OF)
    assert summary["status"] == "clean", summary["validation"]
    decisions = _decisions(summary)
    assert decisions[victim["payout_id"]][0] == "hold"
    assert "data_inconsistent" in decisions[victim["payout_id"]][1].split(";")
    others = [pid for pid, (_, reasons) in decisions.items() if "data_inconsistent" in reasons.split(";")]
    assert others == [victim["payout_id"]]  # one bad row holds its own payout, nobody else's
    assert all(reasons for decision, reasons in decisions.values() if decision != "release")
    assert summary["flag_counts"]["late_referral"] > 0  # abuse is flagged, not a validation failure
    assert summary["tables"]["referrers"]["rows_quarantined"] == 0  # dashed IBANs are normalised
    assert summary["decision_counts"]["release"] > 0


def test_more_bad_rows_than_the_rate_allows_make_the_report_not_clean(world, tmp_path):
    landing = _copy_landing(world, tmp_path / "landing")
    header, payouts = _rows(landing / "payouts.csv")
    for p in payouts[: max(10, len(payouts) // 20)]:  # 5% of the payouts disagree with their job's bounty
        p["amount"] = "1.00"
    _write(landing / "payouts.csv", header, payouts)
    summary = pipeline.run(landing, tmp_path / "bg.duckdb", AS_OF)
    assert summary["status"] == "not_clean"
    assert "quarantined_rows__payouts" in {c["check"] for c in summary["validation"]["failed_checks"]}
    decisions = _decisions(summary)
    assert "release" not in {d for d, _ in decisions.values()}
    assert all("data_not_clean" in reasons.split(";") or "data_inconsistent" in reasons.split(";")
               for d, reasons in decisions.values() if d == "hold")
