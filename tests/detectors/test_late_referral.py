import json

from detectors.late_referral import LateReferralDetector


def test_referral_after_or_right_before_the_hire_is_late(platform, con):
    platform.job("J1", "C1")
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-03-02", hired="2026-02-10T12:00:00Z",
                           referred="2026-02-10T15:00:00Z")  # after the offer was accepted
    platform.referred_hire("2", "R2", "K2", "J1", started="2026-03-02", hired="2026-02-10T12:00:00Z",
                           referred="2026-02-09T12:00:00Z")  # 24 hours before
    platform.load(con, as_of="2026-06-30")
    flags = {f[1]: f for f in LateReferralDetector.from_config().detect(con)}
    assert set(flags) == {"RF1", "RF2"}
    assert json.loads(flags["RF2"][5])["hours_before_hire"] == 24.0


def test_referral_weeks_before_the_hire_is_not_late(platform, con):
    platform.job("J1", "C1")
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-03-02", hired="2026-02-10T12:00:00Z",
                           referred="2026-01-20T12:00:00Z")
    platform.referred_hire("2", "R2", "K2", "J1", started="2026-03-02", hired="2026-02-10T12:00:00Z",
                           referred="2026-02-08T11:00:00Z")  # 49 hours: just outside the default 48
    platform.load(con, as_of="2026-06-30")
    assert LateReferralDetector.from_config().detect(con) == []
