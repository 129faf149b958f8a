import json

import pytest

from detectors.referral_ring import ReferralRingDetector


def refer(platform, n, referrer, candidate, job="J1", started="2026-03-02"):
    for table, key, rid in (("referrers", "referrer_id", referrer), ("candidates", "candidate_id", candidate)):
        if not any(r[key] == rid for r in platform.rows[table]):
            platform.add(table, **{key: rid})
    platform.referred_hire(n, referrer, candidate, job, started=started)


def test_two_and_three_person_rings_are_found_on_persons(platform, con):
    platform.job("J1", "C1")
    # A refers B and B refers A: their referrer and candidate records are resolved to persons
    refer(platform, "1", "RA", "KB", started="2026-03-02")
    refer(platform, "2", "RB", "KA", started="2026-03-03")
    # X -> Y -> Z -> X
    refer(platform, "3", "RX", "KY")
    refer(platform, "4", "RY", "KZ")
    refer(platform, "5", "RZ", "KX")
    persons = {"RA": "A", "KA": "A", "RB": "B", "KB": "B", "RX": "X", "KX": "X", "RY": "Y", "KY": "Y",
               "RZ": "Z", "KZ": "Z"}
    platform.load(con, as_of="2026-06-30", persons=persons)
    flags = {f[2]: f for f in ReferralRingDetector.from_config().detect(con)}
    assert set(flags) == {"A", "B", "X", "Y", "Z"}
    assert flags["A"][1] == "RA"  # names one of the person's referrer records
    ring = json.loads(flags["Y"][5])["rings"][0]
    assert ring["persons"] == ["X", "Y", "Z"] and ring["length"] == 3
    assert [r["referral_ids"] for r in ring["referrals"]] == [["RF3"], ["RF4"], ["RF5"]]


def test_chains_stars_and_self_referrals_are_not_rings(platform, con):
    platform.job("J1", "C1")
    refer(platform, "1", "RA", "KB")   # A -> B -> C, no way back
    refer(platform, "2", "RB", "KC")
    refer(platform, "3", "RP", "KQ")   # a power recruiter P refers many; one of them refers someone else
    refer(platform, "4", "RP", "KS")
    refer(platform, "5", "RQ", "KT")
    refer(platform, "6", "RM", "KM")   # a self-referral is its own pattern
    persons = {"RA": "A", "KB": "B", "RB": "B", "KC": "C", "RP": "P", "KQ": "Q", "RQ": "Q", "RM": "M", "KM": "M"}
    platform.load(con, as_of="2026-06-30", persons=persons)
    assert ReferralRingDetector.from_config().detect(con) == []


def test_cycles_longer_than_the_bound_are_ignored(platform, con):
    platform.job("J1", "C1")
    people = ["A", "B", "C", "D", "E"]
    for i, a in enumerate(people):
        b = people[(i + 1) % len(people)]
        refer(platform, str(i), f"R{a}", f"K{b}")
    platform.load(con, as_of="2026-06-30", persons={f"{r}{p}": p for p in people for r in "RK"})
    assert ReferralRingDetector.from_config(max_cycle_length=4).detect(con) == []
    assert len(ReferralRingDetector.from_config(max_cycle_length=5).detect(con)) == 5


def test_a_ring_member_behind_a_fresh_candidate_record_closes_the_ring_by_name(platform, con):
    """D's candidate record (another mailbox) is not resolved to D's referrer account; its name is D's
    and no other referrer's, and the referrals close A -> B -> C -> D -> A."""
    platform.job("J1", "C1")
    refer(platform, "1", "RA", "KB")
    refer(platform, "2", "RB", "KC")
    refer(platform, "3", "RC", "KD")   # KD: D under a fresh record
    refer(platform, "4", "RD", "KA")
    persons = {"RA": "A", "KA": "A", "RB": "B", "KB": "B", "RC": "C", "KC": "C"}
    platform.load(con, as_of="2026-06-30", persons=persons, name_keys={"RD": "moros svitlana", "KD": "moros svitlana"})
    # the candidate record has a birth date, the referrer account none: no contradiction
    con.execute("UPDATE person_records SET birth_date = DATE '1985-10-25' WHERE record_id = 'KD'")
    flags = {f[2] for f in ReferralRingDetector.from_config().detect(con)}
    assert flags == {"A", "B", "C", "referrer:RD"}


def test_a_name_shared_by_two_referrers_or_a_chain_that_never_closes_is_no_ring(platform, con):
    platform.job("J1", "C1")
    refer(platform, "1", "RA", "KB")
    refer(platform, "2", "RB", "KC")
    refer(platform, "3", "RC", "KD")
    refer(platform, "4", "RD", "KA")
    refer(platform, "5", "RN", "KZ")   # a namesake referrer: the name no longer points at one person
    refer(platform, "6", "RX", "KY")   # a namesake candidate in a chain that never closes
    # two common names that refer each other by chance, neither referral hired
    for n, (referrer, candidate) in enumerate((("RK", "KM"), ("RM", "KK")), start=7):
        platform.add("referrers", referrer_id=referrer)
        platform.add("candidates", candidate_id=candidate)
        platform.add("referrals", referral_id=f"RF{n}", referrer_id=referrer, candidate_id=candidate, job_id="J1",
                     referred_at="2026-02-01T10:00:00Z")
    persons = {"RA": "A", "KA": "A", "RB": "B", "KB": "B", "RC": "C", "KC": "C"}
    platform.load(con, as_of="2026-06-30", persons=persons,
                  name_keys={"RD": "anna berg", "KD": "anna berg", "RN": "anna berg", "KY": "anna berg",
                             "RK": "andri kovalenko", "KK": "andri kovalenko", "RM": "maria melnik",
                             "KM": "maria melnik"})
    assert ReferralRingDetector.from_config().detect(con) == []


def _ring_with_d_behind_a_fresh_record(platform, con, candidate_name_key, first_referral_hired=True):
    """A -> B -> C -> D -> A, D's candidate record KD unresolved to RD."""
    platform.job("J1", "C1")
    if first_referral_hired:
        refer(platform, "1", "RA", "KB")
    else:
        platform.add("referrers", referrer_id="RA")
        platform.add("candidates", candidate_id="KB")
        platform.add("referrals", referral_id="RF1", referrer_id="RA", candidate_id="KB", job_id="J1",
                     referred_at="2026-02-01T10:00:00Z")
    refer(platform, "2", "RB", "KC")
    refer(platform, "3", "RC", "KD")
    refer(platform, "4", "RD", "KA")
    refer(platform, "5", "RN", "KZ")   # RN: a referrer who may be D's namesake
    persons = {"RA": "A", "KA": "A", "RB": "B", "KB": "B", "RC": "C", "KC": "C"}
    platform.load(con, as_of="2026-06-30", persons=persons,
                  name_keys={"RD": "moros svitlana", "KD": candidate_name_key, "RN": "moros svitlana"})
    con.execute("UPDATE person_records SET city_key = 'warszawa' WHERE record_id IN ('RD', 'KD')")
    con.execute("UPDATE person_records SET birth_date = DATE '1993-06-25' WHERE record_id = 'KD'")


def test_a_namesake_referrer_born_on_another_day_does_not_hide_the_ring_member(platform, con):
    _ring_with_d_behind_a_fresh_record(platform, con, "moros svitlana")
    con.execute("UPDATE person_records SET birth_date = DATE '1961-02-03' WHERE record_id = 'RN'")
    assert {f[2] for f in ReferralRingDetector.from_config().detect(con)} == {"A", "B", "C", "referrer:RD"}
    # a namesake whose birth date is unknown may be the one, unless the city tells them apart: D lives
    # in the candidate's city, the namesake's city is unknown
    con.execute("UPDATE person_records SET birth_date = NULL WHERE record_id = 'RN'")
    assert {f[2] for f in ReferralRingDetector.from_config().detect(con)} == {"A", "B", "C", "referrer:RD"}
    # ...a namesake in the same city: the name and the city point at two people
    con.execute("UPDATE person_records SET city_key = 'warszawa' WHERE record_id = 'RN'")
    assert ReferralRingDetector.from_config().detect(con) == []


@pytest.mark.parametrize("slip", ["mors svitlana", "moras svitlana", "moross svitlana", "mroos svitlana",
                                  "oros svitlana", "moros svitlan", "smoros svitlana"])
def test_every_kind_of_one_letter_slip_is_found(platform, con, slip):
    # dropped, changed, added, swapped; at the first and the last letter (the blocking's edges)
    _ring_with_d_behind_a_fresh_record(platform, con, slip)
    con.execute("UPDATE person_records SET birth_date = DATE '1961-02-03' WHERE record_id = 'RN'")
    assert {f[2] for f in ReferralRingDetector.from_config().detect(con)} == {"A", "B", "C", "referrer:RD"}


def test_a_name_one_letter_off_in_the_same_city_closes_a_fully_hired_ring(platform, con):
    _ring_with_d_behind_a_fresh_record(platform, con, "mors svitlana")   # Moroz typed Moors
    con.execute("UPDATE person_records SET birth_date = DATE '1961-02-03' WHERE record_id = 'RN'")
    assert {f[2] for f in ReferralRingDetector.from_config().detect(con)} == {"A", "B", "C", "referrer:RD"}
    # the same near name in another city is another person
    con.execute("UPDATE person_records SET city_key = 'krakow' WHERE record_id = 'KD'")
    assert ReferralRingDetector.from_config().detect(con) == []


def test_a_near_name_never_closes_a_ring_whose_referrals_were_not_all_hired(platform, con):
    _ring_with_d_behind_a_fresh_record(platform, con, "mors svitlana", first_referral_hired=False)
    con.execute("UPDATE person_records SET birth_date = DATE '1961-02-03' WHERE record_id = 'RN'")
    assert ReferralRingDetector.from_config().detect(con) == []


def test_name_guesses_without_a_hire_are_left_out_of_the_search_and_the_rings_stay(platform, con):
    """The search skips what could only close a ring that does not count: C's referral of D's fresh
    record (a name guess) was never hired."""
    platform.job("J1", "C1")
    refer(platform, "1", "RA", "KB")
    refer(platform, "2", "RB", "KC")
    platform.add("referrers", referrer_id="RC")
    platform.add("candidates", candidate_id="KD")
    platform.add("referrals", referral_id="RF3", referrer_id="RC", candidate_id="KD", job_id="J1",
                 referred_at="2026-02-01T10:00:00Z")
    refer(platform, "4", "RD", "KA")
    persons = {"RA": "A", "KA": "A", "RB": "B", "KB": "B", "RC": "C", "KC": "C"}
    platform.load(con, as_of="2026-06-30", persons=persons,
                  name_keys={"RD": "moros svitlana", "KD": "moros svitlana"})
    detector = ReferralRingDetector.from_config()
    assert detector.detect(con) == []
    assert detector.n_edges_searched_ == detector.n_edges_ - 1


def test_a_hired_name_guess_is_searched_and_closes_the_ring(platform, con):
    _ring_with_d_behind_a_fresh_record(platform, con, "moros svitlana")
    con.execute("UPDATE person_records SET birth_date = DATE '1961-02-03' WHERE record_id = 'RN'")
    detector = ReferralRingDetector.from_config()
    assert {f[2] for f in detector.detect(con)} == {"A", "B", "C", "referrer:RD"}
    assert detector.n_edges_searched_ == detector.n_edges_
