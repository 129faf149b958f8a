import json

from detectors.duplicate_referral import DuplicateReferralDetector


def test_earlier_referral_by_someone_else_owns_the_candidate(platform, con):
    platform.job("J1", "C1")
    platform.job("J2", "C1")  # another job at the same company
    platform.add("referrers", referrer_id="R-first")
    platform.add("candidates", candidate_id="K1")
    platform.add("referrals", referral_id="RF0", referrer_id="R-first", candidate_id="K1", job_id="J2",
                 referred_at="2026-01-10T09:00:00Z")
    platform.referred_hire("1", "R-second", "K1b", "J1", started="2026-03-02", referred="2026-01-20T09:00:00Z")
    platform.load(con, as_of="2026-06-30", persons={"K1": "P-k", "K1b": "P-k"})
    flags = DuplicateReferralDetector.from_config().detect(con)
    assert [(f[0], f[1]) for f in flags] == [("referral", "RF1")]
    ev = json.loads(flags[0][5])
    assert ev["known_before"] == [{"kind": "earlier_referral", "id": "RF0", "at": "2026-01-10 09:00:00",
                                   "referrer_id": "R-first"}]


def test_own_application_and_earlier_employment_count(platform, con):
    platform.job("J1", "C1")
    platform.job("J2", "C2")
    platform.job("J3", "C2")
    platform.add("candidates", candidate_id="K1")
    platform.add("applications", application_id="A1", candidate_id="K1", job_id="J1",
                 applied_at="2026-01-05T09:00:00Z", source="direct")
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-03-02", referred="2026-01-20T09:00:00Z")
    platform.add("candidates", candidate_id="K2")
    platform.add("hires", hire_id="H-old", candidate_id="K2", job_id="J2", hired_at="2023-01-01T09:00:00Z",
                 started_at="2023-02-01", ended_at="2024-02-01", end_reason="resigned")
    platform.referred_hire("2", "R2", "K2", "J3", started="2026-03-02")
    platform.load(con, as_of="2026-06-30")
    kinds = {f[1]: json.loads(f[5])["known_before"][0]["kind"] for f in DuplicateReferralDetector.from_config().detect(con)}
    assert kinds == {"RF1": "own_application", "RF2": "earlier_employment"}


def test_look_alikes_own_the_candidate(platform, con):
    platform.job("J1", "C1")
    platform.job("J2", "C2")
    platform.add("referrers", referrer_id="R1")
    platform.add("candidates", candidate_id="K1")
    # the same referrer referred the person to this company before: still their candidate
    platform.add("referrals", referral_id="RF0", referrer_id="R1", candidate_id="K1", job_id="J1",
                 referred_at="2026-01-10T09:00:00Z")
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    # someone else referred the person, but to another company
    platform.add("referrals", referral_id="RF9", referrer_id="R9", candidate_id="K2", job_id="J2",
                 referred_at="2026-01-10T09:00:00Z")
    platform.referred_hire("2", "R2", "K2", "J1", started="2026-03-02")
    # an application that came through the referral itself, and one after the referral
    platform.add("applications", application_id="A1", candidate_id="K1", job_id="J1",
                 applied_at="2026-01-12T09:00:00Z", source="referral")
    platform.add("applications", application_id="A2", candidate_id="K2", job_id="J1",
                 applied_at="2026-02-28T09:00:00Z", source="direct")
    platform.load(con, as_of="2026-06-30")
    assert DuplicateReferralDetector.from_config().detect(con) == []


def test_ownership_window_limits_how_far_back_a_referral_counts(platform, con):
    platform.job("J3", "C3")
    platform.add("candidates", candidate_id="K3")
    platform.add("referrals", referral_id="RF8", referrer_id="R9", candidate_id="K3", job_id="J3",
                 referred_at="2024-01-10T09:00:00Z")
    platform.add("referrers", referrer_id="R9")
    platform.referred_hire("3", "R3", "K3", "J3", started="2026-03-02")
    platform.load(con, as_of="2026-06-30")
    assert [f[1] for f in DuplicateReferralDetector.from_config().detect(con)] == ["RF3"]  # default: no limit
    assert DuplicateReferralDetector.from_config(ownership_window_days=365).detect(con) == []
