"""The decision step on hand-made platforms: void, hold, clawback and release, and analysts'
decisions as an input of the next run."""
import csv
import datetime as dt
import json

from bountyguard import pipeline
from bountyguard.ledger import append_analyst_decision, open_ledger
from tests.builders import Platform

AS_OF = "2026-06-30"


def decisions_of(summary) -> dict:
    with open(summary["published_dir"] + "/payout_decisions.csv", newline="") as f:
        return {r["payout_id"]: (r["decision"], r["reasons"]) for r in csv.DictReader(f)}


def farmed(p: Platform, candidate="K1", referrer="R1", prefix="S"):
    """A person placed four times, leaving 5-10 days after each guarantee end; the last still running."""
    start = dt.date(2025, 1, 6)
    for i in range(4):
        p.job(f"{prefix}J{i}", f"{prefix}C{i}", guarantee_days=90)
        ended = str(start + dt.timedelta(days=95 + i)) if i < 3 else None
        p.referred_hire(f"{prefix}{i}", referrer, candidate, f"{prefix}J{i}", started=str(start), ended=ended,
                        payout_status="released" if ended else "pending")
        start = start + dt.timedelta(days=120)
    return [f"P{prefix}{i}" for i in range(4)]


def test_decisions_follow_the_flags(tmp_path):
    p = Platform()
    for i in range(1, 4):
        p.job(f"J{i}", f"C{i}")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")                       # honest, due
    p.referred_hire("2", "R2", "K2", "J2", started="2026-01-05", ended="2026-02-01")    # early exit, due
    p.referred_hire("3", "R3", "K3", "J3", started="2026-06-01")                       # not due yet
    # released long ago, early exit only recorded later (a late correction): clawback
    p.referred_hire("4", "R4", "K4", "J1", started="2025-01-06", ended="2025-02-01", payout_status="released")
    farm = farmed(p, candidate="K9", referrer="R9")
    landing = p.write_landing(tmp_path / "landing")

    summary = pipeline.run(landing, tmp_path / "bg.duckdb", AS_OF)

    assert summary["status"] == "clean"
    decisions = decisions_of(summary)
    assert decisions["P1"] == ("release", "")
    assert decisions["P2"] == ("void", "early_exit")
    assert "P3" not in decisions
    assert decisions["P4"] == ("clawback", "early_exit")
    # the farmed series: the released bounties are clawed back, the running one held
    assert [decisions[pid][0] for pid in farm] == ["clawback", "clawback", "clawback", "hold"]
    assert decisions[farm[3]][1] == "job_hopping;serial_rereferral"  # three exits within probation: both


def test_analyst_decisions_are_honoured_by_the_next_run(tmp_path):
    p = Platform()
    p.job("J1", "C1")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    farm = farmed(p, candidate="K9", referrer="R9")
    landing = p.write_landing(tmp_path / "landing")
    db = tmp_path / "bg.duckdb"
    first = pipeline.run(landing, db, AS_OF)
    assert decisions_of(first)[farm[3]][0] == "hold"

    ledger = open_ledger(db)
    append_analyst_decision(ledger, farm[3], "release", "analyst.anna", "checked: a genuine contractor",
                            reasons_seen="job_hopping;serial_rereferral")
    append_analyst_decision(ledger, "P1", "void", "analyst.anna", "the candidate applied directly")
    ledger.close()
    second = pipeline.run(landing, db, AS_OF)

    decisions = decisions_of(second)
    assert decisions[farm[3]] == ("release", "")
    assert decisions["P1"][0] == "void"
    # an analyst's decision is an input: it changes the digest
    assert second["report_sha256"] != first["report_sha256"]
    report = json.loads(open(second["report_path"]).read())
    assert report["decision_counts"] == {"release": 1, "hold": 0, "void": 1, "clawback": 3}


def test_void_is_final_across_runs(tmp_path):
    p = Platform()
    p.job("J1", "C1")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-01-05", ended="2026-02-01")  # early exit
    landing = p.write_landing(tmp_path / "first")
    db = tmp_path / "bg.duckdb"
    assert decisions_of(pipeline.run(landing, db, AS_OF))["P1"] == ("void", "early_exit")

    # the platform later "corrects" the exit away; the bounty was voided and stays void
    p.rows["hires"][0].update(ended_at=None, end_reason=None, updated_at="2026-06-29T00:00:00Z")
    later = p.write_landing(tmp_path / "later")
    ledger = open_ledger(db)
    append_analyst_decision(ledger, "P1", "release", "analyst.anna", "the exit was a data error")
    ledger.close()
    assert decisions_of(pipeline.run(later, db, AS_OF))["P1"] == ("void", "early_exit")


def test_a_backfill_for_an_earlier_day_never_becomes_the_report_to_pay_from(tmp_path):
    from bountyguard.report import latest_published

    p = Platform()
    p.job("J1", "C1")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    landing = p.write_landing(tmp_path / "landing")
    db = tmp_path / "bg.duckdb"
    june = pipeline.run(landing, db, "2026-06-30")
    may = pipeline.run(landing, db, "2026-05-31")
    assert latest_published(db).name == june["run_id"]
    assert (latest_published(db).parent / may["run_id"] / "report.json").exists()  # published, not latest
    again = pipeline.run(landing, db, "2026-06-30")
    assert latest_published(db).name == again["run_id"]


def test_an_analysts_release_does_not_lift_patterns_found_later(tmp_path):
    p = Platform()
    p.job("J1", "C1")
    farm = farmed(p, candidate="K9", referrer="R9")
    db = tmp_path / "bg.duckdb"
    ledger = open_ledger(db)
    # the analyst saw only a velocity spike; the run finds serial re-referral
    append_analyst_decision(ledger, farm[3], "release", "analyst.anna", "busy month", reasons_seen="velocity_spike")
    ledger.close()
    decisions = decisions_of(pipeline.run(p.write_landing(tmp_path / "landing"), db, AS_OF))
    assert decisions[farm[3]] == ("hold", "job_hopping;serial_rereferral")


def test_a_payout_bountyguard_paid_is_clawed_back_when_it_turns_out_not_owed(tmp_path):
    from bountyguard import payouts

    p = Platform()
    p.job("J1", "C1")
    p.add("referrers", referrer_id="R1", payout_iban="DE89 3704 0044 0532 0130 00")
    p.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    db = tmp_path / "bg.duckdb"
    assert decisions_of(pipeline.run(p.write_landing(tmp_path / "first"), db, AS_OF))["P1"] == ("release", "")
    assert [x["payout_id"] for x in payouts.release(db)["paid"]] == ["P1"]
    # the platform still lists the payout as pending, and a late correction shows an early exit
    p.rows["hires"][0].update(ended_at="2026-03-20", end_reason="resigned", updated_at="2026-06-29T00:00:00Z")
    decisions = decisions_of(pipeline.run(p.write_landing(tmp_path / "later"), db, AS_OF))
    # the platform still says pending, so the contract's decision is void (not owed); the payout job
    # knows it paid it and lists it for recovery, once
    assert decisions["P1"] == ("void", "early_exit")
    assert [c["payout_id"] for c in payouts.clawbacks(db)] == ["P1"]
    assert [c["payout_id"] for c in payouts.clawbacks(db)] == ["P1"]
