"""The behaviour features behind the anomaly score: hand-computed values on a small platform, NULL only
where nothing could be measured, and no look-ahead (what happens after the as-of date never changes the features of that date)."""
import math

import duckdb
import pytest

from bountyguard import models
from tests.builders import Platform

AS_OF = "2026-06-30"
PARAMS = {"exit_window_days": 30}


def small_platform(later: bool = False) -> Platform:
    p = Platform()
    p.add("referrers", referrer_id="R1", signed_up_at="2025-01-01T00:00:00Z")
    p.add("referrers", referrer_id="R3", signed_up_at="2026-01-10T00:00:00Z")
    p.job("J90", "C1", guarantee_days=90)
    p.job("J30", "C2", guarantee_days=30)
    p.job("J90b", "C3", guarantee_days=90, bounty="1500.00")
    # left 5 days after its guarantee end (2025-06-30): an exit soon after the guarantee
    p.referred_hire("1", "R1", "K1", "J90", started="2025-04-01", ended="2025-07-05",
                    referred="2025-03-01T10:00:00Z", hired="2025-03-20T10:00:00Z")
    # referred 20 days before the as-of date, not hired (by then)
    p.add("candidates", candidate_id="K2")
    p.add("referrals", referral_id="RF2", referrer_id="R1", candidate_id="K2", job_id="J30",
          referred_at="2026-06-10T10:00:00Z")
    # hired in May, guarantee runs until 2026-08-13: still within its guarantee on the as-of date
    p.referred_hire("3", "R1", "K3", "J90b", started="2026-05-15",
                    ended="2026-07-10" if later else None,  # an exit after the as-of date
                    referred="2026-04-15T10:00:00Z", hired="2026-05-01T10:00:00Z")
    # K4 is K1 under another record: the same person placed again, leaving long after the guarantee
    p.referred_hire("4", "R1", "K4", "J30", started="2025-10-01", ended="2026-03-01",
                    referred="2025-09-01T10:00:00Z", hired="2025-09-20T10:00:00Z")
    p.add("candidates", candidate_id="K5")
    p.add("referrals", referral_id="RF5", referrer_id="R3", candidate_id="K5", job_id="J30",
          referred_at="2026-02-01T10:00:00Z")
    if later:
        # everything below is dated after the as-of date
        p.referred_hire("6", "R1", "K6", "J90", started="2026-08-01", referred="2026-07-05T10:00:00Z",
                        hired="2026-07-20T10:00:00Z")
        p.add("hires", hire_id="H2", referral_id="RF2", candidate_id="K2", job_id="J30",
              hired_at="2026-07-15T10:00:00Z", started_at="2026-07-20")
        p.add("referrers", referrer_id="R9", signed_up_at="2026-07-02T00:00:00Z")
        p.add("candidates", candidate_id="K9", created_at="2026-07-03T00:00:00Z")
        p.add("referrals", referral_id="RF9", referrer_id="R9", candidate_id="K9", job_id="J90",
              referred_at="2026-07-03T10:00:00Z")
        p.add("referrals", referral_id="RF10", referrer_id="R3", candidate_id="K1", job_id="J90b",
              referred_at="2026-07-04T10:00:00Z")
    return p


def features(platform: Platform, as_of: str = AS_OF) -> dict[str, dict[str, dict]]:
    con = duckdb.connect()
    try:
        platform.load(con, as_of=as_of, persons={"K1": "P-K", "K4": "P-K"})
        out = {}
        for table in ("referrer_behaviour", "candidate_behaviour"):
            models.build(con, [table], params=PARAMS)
            rel = con.execute(f"SELECT * FROM {table} ORDER BY person_id")
            names = [d[0] for d in rel.description]
            out[table] = {row[0]: dict(zip(names[1:], row[1:])) for row in rel.fetchall()}
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def as_of_features():
    return features(small_platform())


def test_referrer_features_by_hand(as_of_features):
    r1 = as_of_features["referrer_behaviour"]["referrer:R1"]
    assert {k: r1[k] for k in ("referrals_30d", "referrals_90d", "referrals_365d", "referrals_total")} == \
        {"referrals_30d": 1, "referrals_90d": 2, "referrals_365d": 3, "referrals_total": 4}
    assert {k: r1[k] for k in ("placements_30d", "placements_90d", "placements_365d", "placements_total")} == \
        {"placements_30d": 0, "placements_90d": 1, "placements_365d": 2, "placements_total": 3}
    assert r1["conversion_rate"] == 0.75
    assert r1["distinct_companies"] == 3
    assert r1["distinct_candidates"] == 3  # K1 and K4 are one person: network degree counts persons
    assert r1["median_tenure_days"] == (95 + 151) / 2  # ended stints only
    # two placements are past their guarantee (the May hire is not); one of them left 5 days after it
    assert r1["exits_soon_after_guarantee"] == 1
    assert r1["exit_soon_after_guarantee_share"] == 0.5
    assert r1["median_days_referral_to_hire"] == 19  # 19, 16, 19 days
    assert r1["account_age_days_at_first_referral"] == 59  # 2025-01-01 -> 2025-03-01
    assert r1["top_candidate_bounty_share"] == pytest.approx(2000 / 3500)  # P-K earned 2 of 3.5 thousand


def test_shares_of_few_events_are_discounted(as_of_features):
    r1 = as_of_features["referrer_behaviour"]["referrer:R1"]
    assert r1["exit_soon_after_guarantee_share_lower_bound"] == pytest.approx(_wilson(1, 2), abs=1e-4)
    assert r1["conversion_rate_lower_bound"] == pytest.approx(_wilson(3, 4), abs=1e-4)
    assert 0 < r1["conversion_rate_lower_bound"] < r1["conversion_rate"]


def test_nothing_to_measure_gives_neutral_values(as_of_features):
    referrers = as_of_features["referrer_behaviour"]
    r3 = referrers["referrer:R3"]  # one referral, no hire
    assert r3["placements_total"] == 0 and r3["conversion_rate"] == 0
    assert r3["exits_soon_after_guarantee"] == 0 and r3["exit_soon_after_guarantee_share"] == 0
    assert r3["exit_soon_after_guarantee_share_lower_bound"] == 0 and r3["top_candidate_bounty_share"] == 0
    # durations nobody could measure are NULL: the anomaly model fills them with its fitted medians, so
    # a person's row never depends on everybody else's (detectors/anomaly.py)
    assert r3["median_tenure_days"] is None and r3["median_days_referral_to_hire"] is None
    assert r3["account_age_days_at_first_referral"] == 22  # signed up 2026-01-10, referred 2026-02-01


def test_candidate_features_by_hand(as_of_features):
    candidates = as_of_features["candidate_behaviour"]
    assert set(candidates) == {"P-K", "candidate:K2", "candidate:K3", "candidate:K5"}
    pk = candidates["P-K"]
    assert pk["referrals_total"] == 2 and pk["referrals_365d"] == 1
    assert pk["placements_total"] == 2 and pk["placements_365d"] == 1
    assert pk["distinct_referrers"] == 1 and pk["distinct_companies"] == 2
    assert pk["conversion_rate"] == 1.0
    assert pk["median_tenure_days"] == (95 + 151) / 2
    assert pk["exits_soon_after_guarantee"] == 1 and pk["exit_soon_after_guarantee_share"] == 0.5
    assert pk["top_referrer_bounty_share"] == 1.0
    assert pk["profile_age_days_at_first_referral"] == 790  # created 2023-01-01 (the builder's default)
    k2 = candidates["candidate:K2"]
    assert k2["placements_total"] == 0 and k2["referrals_30d"] == 1 and k2["top_referrer_bounty_share"] == 0


# the only features that may be missing: durations of events that did not happen (yet)
MAY_BE_UNMEASURED = {"median_tenure_days", "median_days_referral_to_hire", "account_age_days_at_first_referral",
                     "profile_age_days_at_first_referral"}


def test_only_unmeasured_durations_are_null(as_of_features):
    for table, rows in as_of_features.items():
        for person, row in rows.items():
            assert all(v is not None and not math.isnan(v) for k, v in row.items() if k not in MAY_BE_UNMEASURED), \
                (table, person, row)
    assert any(row[k] is None for rows in as_of_features.values() for row in rows.values()
               for k in MAY_BE_UNMEASURED if k in row)


def test_what_happens_after_the_as_of_date_changes_nothing(as_of_features):
    later = features(small_platform(later=True))
    assert later == as_of_features
    # the added rows do matter once their date has come: this test can fail
    assert features(small_platform(later=True), as_of="2026-08-31") != features(small_platform(), as_of="2026-08-31")


def _wilson(k, n, z=1.96):
    p = k / n
    return (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
