import datetime as dt
import json

from detectors.velocity_spike import VelocitySpikeDetector

AS_OF = dt.date(2026, 6, 30)


def referrals(platform, referrer, per_month, months, recent=None, tag="", end=AS_OF):
    """`per_month` referrals a month for `months` months before the 30 days up to `end`, then
    `recent` in those 30 days."""
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
            add(end - dt.timedelta(days=31 + 30 * m + k))
    for k in range(recent if recent is not None else per_month):
        add(end - dt.timedelta(days=k % 29))


def test_burst_far_above_own_history_and_peers_is_flagged(platform, con):
    referrals(platform, "R-burst", per_month=1, months=12, recent=15)
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=12)
    platform.load(con, as_of=str(AS_OF))
    flags = VelocitySpikeDetector.from_config().detect(con)
    assert [f[1] for f in flags] == ["R-burst"]
    ev = json.loads(flags[0][5])
    assert ev["peak_referrals_in_burst_days"] == 15
    assert len(ev["burst_referral_ids"]) >= 10
    assert ev["expected_from_own_history"] <= 1.2  # about one a month in the year before


def test_the_flag_names_the_record_of_the_latest_referral(platform, con):
    # one referrer person: a year of history on the account R-old, then the burst from a new
    # account R-a whose id sorts first
    referrals(platform, "R-old", per_month=1, months=12, recent=0)
    referrals(platform, "R-a", per_month=0, months=0, recent=15)
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=12)
    platform.load(con, as_of=str(AS_OF), persons={"R-old": "P-burst", "R-a": "P-burst"})
    flags = VelocitySpikeDetector.from_config().detect(con)
    assert [(f[1], f[2]) for f in flags] == [("R-a", "P-burst")]


def test_two_bursts_with_the_same_peak_report_the_later_one(platform, con):
    """Two bursts of fifteen referrals within 30 days (one a month besides): 600 days ago, after a
    busier spell, and in the last month. The evidence's own-history level is the later burst's."""
    referrals(platform, "R-twice", per_month=1, months=30, recent=15)
    first_burst = AS_OF - dt.timedelta(days=600)

    def add(tag, day):
        platform.add("candidates", candidate_id=f"KT{tag}")
        platform.add("referrals", referral_id=f"RFT{tag}", referrer_id="R-twice", candidate_id=f"KT{tag}",
                     job_id="J1", referred_at=f"{day}T10:00:00Z")

    for k in range(13):  # with the monthly referrals either side, 15 within 30 days
        add(f"a{k}", first_burst + dt.timedelta(days=k))
    for k in range(6):  # a busier spell before the first burst: its own-history level is higher
        add(f"b{k}", first_burst - dt.timedelta(days=60 + 7 * k))
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=30)
    platform.load(con, as_of=str(AS_OF))
    flags = VelocitySpikeDetector.from_config().detect(con)
    assert [f[1] for f in flags] == ["R-twice"]
    ev = json.loads(flags[0][5])
    assert ev["peak_referrals_in_burst_days"] == 15
    assert ev["burst_from"][:4] == "2024"  # both bursts are in the evidence
    later = VelocitySpikeDetector.from_config(lookback_days=60).detect(con)  # the later burst alone
    later_ev = json.loads(later[0][5])
    assert later_ev["peak_referrals_in_burst_days"] == 15
    # the earlier burst's level is higher (the busy spell): the later one's is reported
    assert ev["expected_from_own_history"] < 1.5
    assert ev["expected_from_own_history"] == later_ev["expected_from_own_history"]


def test_power_recruiter_with_steady_high_volume_is_not_a_spike(platform, con):
    referrals(platform, "R-power", per_month=20, months=12)  # 20 a month, every month
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=12)
    platform.load(con, as_of=str(AS_OF))
    assert VelocitySpikeDetector.from_config().detect(con) == []


def test_small_increase_is_not_a_spike(platform, con):
    referrals(platform, "R-busy", per_month=2, months=12, recent=6)  # triple, but only 6 referrals
    platform.load(con, as_of=str(AS_OF))
    assert VelocitySpikeDetector.from_config().detect(con) == []


def test_burst_months_ago_is_caught_when_its_bounties_fall_due(platform, con):
    """The burst was eight months before the run: its hires' guarantees end now."""
    burst_end = AS_OF - dt.timedelta(days=240)
    referrals(platform, "R-burst", per_month=1, months=12, recent=15, end=burst_end)
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=20)
    platform.load(con, as_of=str(AS_OF))
    flags = VelocitySpikeDetector.from_config().detect(con)
    assert [f[1] for f in flags] == ["R-burst"]
    ev = json.loads(flags[0][5])
    assert ev["burst_to"][:10] <= str(burst_end)


def test_burst_older_than_the_lookback_is_history(platform, con):
    referrals(platform, "R-old", per_month=1, months=12, recent=15, end=AS_OF - dt.timedelta(days=700))
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=30)
    platform.load(con, as_of=str(AS_OF))
    assert [f[1] for f in VelocitySpikeDetector.from_config().detect(con)] == ["R-old"]  # within three years
    assert VelocitySpikeDetector.from_config(lookback_days=548).detect(con) == []


def test_campaign_week_of_an_established_referrer_is_not_a_spike(platform, con):
    """Eight a month for a year, then a job-fair week with five times the weekly volume."""
    referrals(platform, "R-fair", per_month=8, months=12, recent=8)
    for k in range(10):  # the campaign week: ten more referrals within seven days
        platform.add("candidates", candidate_id=f"KF{k}")
        platform.add("referrals", referral_id=f"RFF{k}", referrer_id="R-fair", candidate_id=f"KF{k}",
                     job_id="J1", referred_at=f"{AS_OF - dt.timedelta(days=k % 7)}T09:00:00Z")
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=2, months=12)
    platform.load(con, as_of=str(AS_OF))
    assert VelocitySpikeDetector.from_config().detect(con) == []


def _new_recruiter(platform, referrer, signed_up, first_month, later_per_month, later_months):
    """An account that signs up after the data begins, files `first_month` referrals in its first 30
    days, then `later_per_month` a month."""
    if not platform.rows["jobs"]:
        platform.job("J1", "C1")
    platform.add("referrers", referrer_id=referrer, signed_up_at=f"{signed_up}T08:00:00Z")
    days = [signed_up + dt.timedelta(days=1 + 3 * k) for k in range(first_month)]
    for m in range(later_months):
        start = signed_up + dt.timedelta(days=31 + 30 * m)
        days += [start + dt.timedelta(days=(30 // later_per_month) * k) for k in range(later_per_month)]
    for n, day in enumerate(days):
        platform.add("candidates", candidate_id=f"K{referrer}{n}")
        platform.add("referrals", referral_id=f"RF{referrer}{n}", referrer_id=referrer, candidate_id=f"K{referrer}{n}",
                     job_id="J1", referred_at=f"{day}T10:00:00Z")


def test_new_recruiter_who_goes_on_as_they_started_is_not_a_spike(platform, con):
    """A recruiter who joins with a full pipeline: ten referrals in the first month, then five a month
    for a year. The first month has no history before it, but the year after it is known."""
    _new_recruiter(platform, "R-newpower", AS_OF - dt.timedelta(days=500), first_month=10,
                   later_per_month=5, later_months=12)
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=1, months=24)
    platform.load(con, as_of=str(AS_OF))
    assert VelocitySpikeDetector.from_config().detect(con) == []


def test_new_account_burst_followed_by_silence_is_flagged(platform, con):
    """The look-alike's opposite: the same first month, then almost nothing (the farmed burst)."""
    _new_recruiter(platform, "R-farm", AS_OF - dt.timedelta(days=500), first_month=10,
                   later_per_month=1, later_months=3)
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=1, months=24)
    platform.load(con, as_of=str(AS_OF))
    flags = VelocitySpikeDetector.from_config().detect(con)
    assert [f[1] for f in flags] == ["R-farm"]
    assert json.loads(flags[0][5])["expected_from_own_history"] <= 1.0


def test_new_account_burst_without_an_after_yet_is_judged_on_its_start(platform, con):
    """Ten referrals in the account's first days, right before the run: nothing after it is known yet,
    so it is a burst (its payouts wait for the analyst, not for the future)."""
    _new_recruiter(platform, "R-new", AS_OF - dt.timedelta(days=31), first_month=10,
                   later_per_month=5, later_months=0)
    for i in range(10):
        referrals(platform, f"R-peer{i}", per_month=1, months=24)
    platform.load(con, as_of=str(AS_OF))
    assert [f[1] for f in VelocitySpikeDetector.from_config().detect(con)] == ["R-new"]
