import json

from detectors.shared_payout_account import SharedPayoutAccountDetector

IBAN = "DE89370400440532013000"


def test_accounts_paying_into_one_iban_are_flagged_whatever_the_spacing(platform, con):
    platform.add("referrers", referrer_id="R1", payout_iban=IBAN)
    platform.add("referrers", referrer_id="R2", payout_iban="de89 3704 0044 0532 0130 00")
    platform.add("referrers", referrer_id="R3", payout_iban="DE89 3704 0044 0532 0130 00")
    platform.add("referrers", referrer_id="R4", payout_iban="DE02120300000000202051")
    platform.load(con, as_of="2026-06-30")
    flags = {f[1]: f for f in SharedPayoutAccountDetector.from_config().detect(con)}
    assert set(flags) == {"R1", "R2", "R3"}
    ev = json.loads(flags["R2"][5])
    assert ev["shared_accounts"][0]["accounts"] == ["R1", "R2", "R3"]
    assert ev["shared_accounts"][0]["iban"] == "DE…3000"  # masked: evidence, not the account number
    assert IBAN not in flags["R2"][5]


def test_one_person_with_two_accounts_on_one_iban_is_one_flag(platform, con):
    platform.add("referrers", referrer_id="R1", payout_iban=IBAN)
    platform.add("referrers", referrer_id="R2", payout_iban=IBAN)
    platform.load(con, as_of="2026-06-30", persons={"R1": "P-x", "R2": "P-x"})
    flags = SharedPayoutAccountDetector.from_config().detect(con)
    assert [(f[2], json.loads(f[5])["referrer_ids"]) for f in flags] == [("P-x", ["R1", "R2"])]


def test_distinct_accounts_and_missing_ibans_are_not_flagged(platform, con):
    platform.add("referrers", referrer_id="R1", payout_iban=IBAN)
    platform.add("referrers", referrer_id="R2", payout_iban="DE02120300000000202051")
    platform.add("referrers", referrer_id="R3", payout_iban=None)
    platform.add("referrers", referrer_id="R4", payout_iban=None)
    platform.load(con, as_of="2026-06-30")
    assert SharedPayoutAccountDetector.from_config().detect(con) == []
