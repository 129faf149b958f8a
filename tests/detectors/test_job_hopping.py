import datetime as dt
import json

from detectors.job_hopping import JobHoppingDetector


def stints(platform, candidate, tenures, gap=30, referred=False, guarantee=90, start="2024-01-08", tag="",
           reason="resigned"):
    day = dt.date.fromisoformat(start)
    for i, tenure in enumerate(tenures):
        job = f"J{tag}{i}"
        platform.job(job, f"C{tag}{i}", guarantee_days=guarantee)
        end = day + dt.timedelta(days=tenure) if tenure is not None else None
        if referred:
            platform.referred_hire(f"{tag}{i}", f"R{i}", candidate, job, started=str(day),
                                   ended=str(end) if end else None, payout_status="released")
        else:
            if not any(c["candidate_id"] == candidate for c in platform.rows["candidates"]):
                platform.add("candidates", candidate_id=candidate)
            platform.add("hires", hire_id=f"H{tag}{i}", candidate_id=candidate, job_id=job,
                         hired_at=f"{day - dt.timedelta(days=10)}T09:00:00Z", started_at=str(day),
                         ended_at=str(end) if end else None, end_reason=reason if end else None)
        day = (end or day) + dt.timedelta(days=gap)


def test_many_short_tenures_flag_the_candidate_whoever_referred(platform, con):
    stints(platform, "K1", [40, 75, 60, 110, 55])  # direct hires, exits follow no guarantee
    stints(platform, "K2", [20, 45, 100, 70], referred=True, tag="b")  # referred by four referrers
    platform.load(con, as_of="2026-06-30")
    flags = {f[1]: f for f in JobHoppingDetector.from_config().detect(con)}
    assert set(flags) == {"K1", "K2"}
    ev = json.loads(flags["K1"][5])
    assert ev["short_stints"] == 5 and ev["companies"] == 5
    assert [s["tenure_days"] for s in ev["stints"]] == [40, 75, 60, 110, 55]


def test_honest_changers_are_not_job_hoppers(platform, con):
    stints(platform, "K1", [500, 700, 400])                 # honest job changer
    stints(platform, "K2", [40, 60, 700, 400], tag="b")      # two short jobs early in a career
    stints(platform, "K3", [95, 100, 130, 110], tag="c", reason="contract_end")  # a contractor's fixed terms
    stints(platform, "K5", [150, 200, 170, 400], tag="e")    # two within probation, one just past it
    stints(platform, "K4", [30, 40, None], tag="d")          # still in the third job
    platform.load(con, as_of="2026-06-30")
    assert JobHoppingDetector.from_config().detect(con) == []


def test_short_means_within_a_six_month_probation(platform, con):
    stints(platform, "K1", [170, 150, 175])                 # three exits within probation: a hopper
    stints(platform, "K2", [190, 200, 185], tag="b")         # each just past six months: not short
    platform.load(con, as_of="2026-06-30")
    assert [f[1] for f in JobHoppingDetector.from_config().detect(con)] == ["K1"]


def test_a_re_registered_hopper_placed_by_one_referrer_is_one_candidate(platform, con):
    """Three short stints at three companies, one referrer, a new candidate record (same name and
    city, no contact in common) each time: chained into one person (sql/features/stint_chains.sql)."""
    for i, candidate in enumerate(["K1", "K2", "K3"]):
        platform.job(f"J{i}", f"C{i}")
        platform.referred_hire(str(i), "R1", candidate, f"J{i}", started=f"2025-0{2 * i + 1}-01",
                               ended=f"2025-0{2 * i + 2}-01")
    keys = {"name_keys": {k: "schulz stefan" for k in ("K1", "K2", "K3")},
            "city_keys": {k: "dusseldorf" for k in ("K1", "K2", "K3")}}
    platform.load(con, as_of="2026-06-30", **keys)
    flags = JobHoppingDetector.from_config().detect(con)
    assert [(f[2], json.loads(f[5])["chained_persons"]) for f in flags] == [
        ("candidate:K1", ["candidate:K2", "candidate:K3"])]


def test_the_flag_names_the_record_of_the_latest_stint(platform, con):
    """A hopper re-registered as K9, K5, K1 in that order: the flag names K1, the record of the
    latest stint (the one a new referral would name), not the highest id."""
    for i, candidate in enumerate(["K9", "K5", "K1"]):
        platform.job(f"J{i}", f"C{i}")
        platform.referred_hire(str(i), "R1", candidate, f"J{i}", started=f"2025-0{2 * i + 1}-01",
                               ended=f"2025-0{2 * i + 2}-01")
    platform.load(con, as_of="2026-06-30", persons={k: "P-hopper" for k in ("K9", "K5", "K1")})
    flags = JobHoppingDetector.from_config().detect(con)
    assert [(f[1], f[2]) for f in flags] == [("K1", "P-hopper")]
