import json

from detectors.early_exit import EarlyExitDetector


def flags_by_entity(rows):
    return {(r[0], r[1]): r for r in rows}


def test_hire_ending_before_guarantee_end_is_flagged_with_evidence(platform, con):
    platform.job("J1", "C1", guarantee_days=90)
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-01-05", ended="2026-02-01")  # 27 of 90 days
    platform.load(con, as_of="2026-06-30")

    flags = flags_by_entity(EarlyExitDetector.from_config().detect(con))

    assert set(flags) == {("hire", "H1")}
    _, _, person, score, severity, evidence = flags[("hire", "H1")]
    assert person == "candidate:K1"
    assert severity == "high"  # under half of the guarantee period
    assert 0 < score <= 1
    ev = json.loads(evidence)
    assert ev["guarantee_end"] == "2026-04-05"
    assert ev["ended_at"] == "2026-02-01"
    assert ev["days_before_guarantee_end"] == 63
    assert ev["payout_id"] == "P1"


def test_exit_in_second_half_of_guarantee_is_medium(platform, con):
    platform.job("J1", "C1", guarantee_days=90)
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-01-05", ended="2026-03-25")
    platform.load(con, as_of="2026-06-30")
    [(_, _, _, _, severity, _)] = EarlyExitDetector.from_config().detect(con)
    assert severity == "medium"


def test_look_alikes_are_not_flagged(platform, con):
    platform.job("J1", "C1", guarantee_days=90)
    platform.job("J0", "C2", guarantee_days=0)
    # ends exactly on the guarantee end: the guarantee was met
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-01-05", ended="2026-04-05")
    # still employed
    platform.referred_hire("2", "R1", "K2", "J1", started="2026-01-05")
    # the exit is dated after the as-of date: on the as-of day it has not happened yet
    platform.referred_hire("3", "R1", "K3", "J1", started="2026-06-01", ended="2026-07-10")
    # a job without a guarantee period cannot be left early
    platform.referred_hire("4", "R1", "K4", "J0", started="2026-01-05", ended="2026-01-06")
    platform.load(con, as_of="2026-06-30")

    assert EarlyExitDetector.from_config().detect(con) == []


def test_hire_after_as_of_date_is_not_seen(platform, con):
    platform.job("J1", "C1", guarantee_days=90)
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-07-20", ended="2026-07-25",
                           hired="2026-07-10T09:00:00Z", referred="2026-07-01T09:00:00Z")
    platform.load(con, as_of="2026-06-30")
    assert EarlyExitDetector.from_config().detect(con) == []


def test_direct_hire_ending_early_owes_no_bounty_and_is_not_flagged(platform, con):
    platform.job("J1", "C1", guarantee_days=90)
    platform.add("candidates", candidate_id="K1")
    platform.add("hires", hire_id="H1", candidate_id="K1", job_id="J1", hired_at="2025-12-20T09:00:00Z",
                 started_at="2026-01-05", ended_at="2026-02-01", end_reason="resigned")
    platform.load(con, as_of="2026-06-30")
    assert EarlyExitDetector.from_config().detect(con) == []
