import datetime as dt
import json

from detectors.velocity_spike import VelocitySpikeDetector

AS_OF = dt.date(2026, 6, 30)


def referrals(platform, referrer, per_month, months, recent=None, tag=""):
    """`per_month` referrals a month for `months` months before the last 30 days, then `recent`."""
    if not platform.rows["jobs"]:
        platform.job("J1", "C1")
    if not any(r["referrer_id"] == referrer for r in platform.rows["referrers"]):
        platform.add("referrers", referrer_id=referrer)
    n = 0

    def add(day):
        nonlocal n
        n += 1
        cid = f"K{referrer}{tag}{n}"
        platform.add("candidates", candidate_id=cid)
        platform.add("referrals", referral_id=f"RF{referrer}{tag}{n}", referrer_id=referrer, candidate_id=cid,
                     job_id="J1", referred_at=f"{day}T10:00:00Z")

    for m in range(months):
        for k in range(per_month):
            add(AS_OF - dt.timedelta(days=31 + 30 * m + k))
    for k in range(recent if recent is not None else per_month):
        add(AS_OF - dt.timedelta(days=k % 29))


def test_burst_far_above_own_history_and_peers_is_flagged(platform, con):
    referrals(platform, "R-burst", per_month=1, months=12, recent=15)
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=12)
    platform.load(con, as_of=str(AS_OF))
    flags = VelocitySpikeDetector().detect(con)
    assert [f[1] for f in flags] == ["R-burst"]
    ev = json.loads(flags[0][5])
    assert ev["recent_referrals"] == 15
    assert ev["expected_from_own_history"] == round(12 * 30 / 365, 2)  # 12 in the year before


def test_power_recruiter_with_steady_high_volume_is_not_a_spike(platform, con):
    referrals(platform, "R-power", per_month=20, months=12)  # 20 a month, every month
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=12)
    platform.load(con, as_of=str(AS_OF))
    assert VelocitySpikeDetector().detect(con) == []


def test_small_increase_is_not_a_spike(platform, con):
    referrals(platform, "R-busy", per_month=2, months=12, recent=6)  # triple, but only 6 referrals
    platform.load(con, as_of=str(AS_OF))
    assert VelocitySpikeDetector().detect(con) == []
