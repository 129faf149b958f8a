import json

from detectors.self_referral import SelfReferralDetector


def test_referrer_referring_their_own_candidate_record_is_flagged(platform, con):
    platform.job("J1", "C1")
    platform.referred_hire("1", "R1", "K1", "J1", started="2026-03-02")
    platform.referred_hire("2", "R2", "K2", "J1", started="2026-03-02")
    platform.load(con, as_of="2026-06-30", persons={"R1": "P-sam", "K1": "P-sam"})
    con.execute("INSERT INTO person_links VALUES ('referrer', 'R1', 'candidate', 'K1', 'email', 1.0, "
                "'{\"email_key\": \"agree\"}')")
    flags = SelfReferralDetector.from_config().detect(con)
    assert [(f[0], f[1], f[2], f[4]) for f in flags] == [("referral", "RF1", "P-sam", "high")]
    ev = json.loads(flags[0][5])
    assert ev["referrer_id"] == "R1" and ev["candidate_id"] == "K1" and ev["payout_id"] == "P1"
    assert ev["direct_links"][0]["rule"] == "email"


def test_family_members_and_namesakes_are_not_self_referrals(platform, con):
    # identity resolution keeps a parent and a child sharing one phone apart: different persons
    platform.job("J1", "C1")
    platform.referred_hire("1", "R-parent", "K-child", "J1", started="2026-03-02")
    platform.load(con, as_of="2026-06-30")
    assert SelfReferralDetector.from_config().detect(con) == []
