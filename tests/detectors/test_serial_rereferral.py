import json

from detectors.serial_rereferral import SerialRereferralDetector


def farm(platform, candidate_ids, referrer_ids, days_after=(5, 10, 3), first_start="2025-01-06", gap_days=20, tag=""):
    """One person placed at a new company again and again, each stint ending `days_after` days
    after its 90-day guarantee end and the next beginning `gap_days` later; the last still running.
    `tag` keeps the hires, jobs and companies of two farms in one platform apart."""
    import datetime as dt

    start = dt.date.fromisoformat(first_start)
    n = len(days_after) + 1
    for i in range(n):
        platform.job(f"J{tag}{i}", f"C{tag}{i}", guarantee_days=90)
        ended = None
        if i < len(days_after):
            ended = str(start + dt.timedelta(days=90 + days_after[i]))
        platform.referred_hire(f"{tag}{i}", referrer_ids[i % len(referrer_ids)], candidate_ids[i % len(candidate_ids)],
                               f"J{tag}{i}", started=str(start), ended=ended,
                               payout_status="released" if ended else "pending")
        start = start + dt.timedelta(days=90 + (days_after[i] if i < len(days_after) else 0) + gap_days)


def test_same_candidate_record_farmed_by_one_referrer_flags_both(platform, con):
    farm(platform, ["K1"], ["R1"])
    platform.load(con, as_of="2026-06-30")

    flags = {(r[0], r[1]): r for r in SerialRereferralDetector.from_config().detect(con)}

    assert set(flags) == {("candidate", "K1"), ("referrer", "R1")}
    ev = json.loads(flags[("candidate", "K1")][5])
    assert ev["placements"] == 4
    assert ev["exits_within_days_after_guarantee"] == 3
    assert [s["days_after_guarantee_end"] for s in ev["stints"]] == [5, 10, 3, None]
    assert {s["company_id"] for s in ev["stints"]} == {"C0", "C1", "C2", "C3"}
    assert all(flags[k][4] == "high" for k in flags)


def test_records_of_one_person_are_counted_together(platform, con):
    # three candidate records resolved to one person: no single record has three placements
    farm(platform, ["K1", "K2", "K3"], ["R1"])
    platform.load(con, as_of="2026-06-30", persons={"K1": "P-expert", "K2": "P-expert", "K3": "P-expert"})

    flags = SerialRereferralDetector.from_config().detect(con)

    candidate_flags = [f for f in flags if f[0] == "candidate"]
    assert len(candidate_flags) == 1
    assert candidate_flags[0][2] == "P-expert"
    assert sorted(json.loads(candidate_flags[0][5])["candidate_ids"]) == ["K1", "K2", "K3"]
    # the flag names the record of the latest placement (the fourth went to K1 again), not the
    # highest id: an analyst opens the record the person uses now
    assert candidate_flags[0][1] == "K1"


def test_the_referrer_flag_names_the_record_of_the_latest_referral(platform, con):
    # one referrer person with two accounts; the later account's id sorts first
    farm(platform, ["K1"], ["R9", "R9", "R1", "R1"])
    platform.load(con, as_of="2026-06-30", persons={"R9": "P-referrer", "R1": "P-referrer"})
    referrers = [f for f in SerialRereferralDetector.from_config().detect(con) if f[0] == "referrer"]
    assert [(f[1], f[2]) for f in referrers] == [("R1", "P-referrer")]


def test_the_referrer_flag_names_the_latest_referral_over_all_farmed_candidates(platform, con):
    # one referrer person farming two experts: the first expert (whose person id sorts first) from
    # the account R9, the second, a year later, from the account R1, whose id sorts first
    farm(platform, ["K1"], ["R9"], tag="a")
    farm(platform, ["K2"], ["R1"], first_start="2026-01-05", days_after=(5, 10), gap_days=5, tag="b")
    platform.load(con, as_of="2026-12-31",
                  persons={"K1": "P-expert-a", "K2": "P-expert-b", "R9": "P-referrer", "R1": "P-referrer"})
    flags = SerialRereferralDetector.from_config().detect(con)
    assert sorted((f[0], f[2]) for f in flags) == [
        ("candidate", "P-expert-a"), ("candidate", "P-expert-b"), ("referrer", "P-referrer")]
    referrer = next(f for f in flags if f[0] == "referrer")
    # not the first candidate's latest account (R9), nor the highest id (R9)
    assert referrer[1] == "R1"
    farmed = json.loads(referrer[5])["farmed_candidates"]
    assert [c["candidate_person_id"] for c in farmed] == ["P-expert-a", "P-expert-b"]


def test_referrer_who_placed_the_person_once_is_not_flagged(platform, con):
    farm(platform, ["K1"], ["R1", "R1", "R1", "R9"])
    platform.load(con, as_of="2026-06-30")
    referrers = {f[1] for f in SerialRereferralDetector.from_config().detect(con) if f[0] == "referrer"}
    assert referrers == {"R1"}


def test_honest_job_changer_is_not_flagged(platform, con):
    # three referred placements, but each lasted well beyond its guarantee period
    farm(platform, ["K1"], ["R1"], days_after=(300, 400))
    platform.load(con, as_of="2026-06-30")
    assert SerialRereferralDetector.from_config().detect(con) == []


def test_early_quitter_is_not_a_bounty_farmer(platform, con):
    # exits before the guarantee end forfeit the bounty: that is early_exit, not this scheme
    farm(platform, ["K1"], ["R1"], days_after=(-30, -40, -20))
    platform.load(con, as_of="2026-06-30")
    assert SerialRereferralDetector.from_config().detect(con) == []


def test_two_placements_are_not_a_series(platform, con):
    farm(platform, ["K1"], ["R1"], days_after=(5,))
    platform.load(con, as_of="2026-06-30")
    assert SerialRereferralDetector.from_config().detect(con) == []


def test_thresholds_come_from_the_constructor(platform, con):
    farm(platform, ["K1"], ["R1"], days_after=(5,))
    platform.load(con, as_of="2026-06-30")
    flags = SerialRereferralDetector.from_config(min_placements=2, min_exits_after_guarantee=1).detect(con)
    assert {f[0] for f in flags} == {"candidate", "referrer"}


def test_referrers_taking_turns_are_each_flagged(platform, con):
    """A group of referrers takes turns, each placing the expert once; every stint they placed ended
    just after its guarantee. The referrer of the current, still running stint is not (yet) flagged."""
    farm(platform, ["K1"], ["R1", "R2", "R3", "R4"])
    platform.load(con, as_of="2026-06-30")
    referrers = {f[1] for f in SerialRereferralDetector.from_config().detect(con) if f[0] == "referrer"}
    assert referrers == {"R1", "R2", "R3"}


def test_a_job_hopper_whose_exits_only_sometimes_follow_a_guarantee_end_is_no_bounty_farmer(platform, con):
    """Four placements by four referrers: one left 17 days after its guarantee end, one 5 days after,
    one well before it (a bounty farmer never forfeits a bounty)."""
    farm(platform, ["K1"], ["R1", "R2", "R3", "R4"], days_after=(17, -17, 5))
    platform.load(con, as_of="2026-06-30")
    assert SerialRereferralDetector.from_config().detect(con) == []
    assert {f[1] for f in SerialRereferralDetector.from_config(min_share_of_exits_after_guarantee=0.5).detect(con)
            if f[0] == "candidate"} == {"K1"}


# A farmed expert re-registers before each placement (new mailbox, no phone, no birth date): identity
# resolution keeps the records apart (a name and a city alone are not one person), and the chain in
# sql/features/stint_chains.sql joins them inside one referrer's placements, or across referrers
# when the stints keep the farming rhythm (each left just after its guarantee end, the next soon after).
NAMESAKES = ["K1", "K2", "K3", "K4"]


def load_namesakes(platform, con, cities=None, **kw):
    platform.load(con, as_of="2026-06-30", name_keys={k: "schulz stefan" for k in NAMESAKES},
                  city_keys={k: (cities or {}).get(k, "dusseldorf") for k in NAMESAKES}, **kw)


def candidate_flags(con, **params):
    return [f for f in SerialRereferralDetector.from_config(**params).detect(con) if f[0] == "candidate"]


def test_re_registered_expert_placed_by_one_referrer_again_and_again_is_chained(platform, con):
    farm(platform, NAMESAKES, ["R1"])
    load_namesakes(platform, con)
    flags = candidate_flags(con)
    assert len(flags) == 1
    assert flags[0][2] == "candidate:K1"  # the first placement's person
    evidence = json.loads(flags[0][5])
    assert evidence["candidate_ids"] == NAMESAKES
    assert evidence["chained_persons"] == ["candidate:K2", "candidate:K3", "candidate:K4"]


def test_the_chain_needs_three_placements_two_namesakes_are_not_one_person(platform, con):
    farm(platform, NAMESAKES[:2], ["R1"], days_after=(5,))
    load_namesakes(platform, con)
    # even with the detector's own thresholds lowered to two, the namesakes stay two people
    assert candidate_flags(con, min_placements=2, min_exits_after_guarantee=1) == []


def test_namesakes_with_different_birth_dates_are_not_chained(platform, con):
    farm(platform, NAMESAKES, ["R1"])
    for row, born in zip(platform.rows["candidates"], ["1990-01-01", None, "1985-05-05", None]):
        row["birth_date"] = born
    load_namesakes(platform, con)
    assert candidate_flags(con) == []


def test_namesakes_in_two_cities_are_not_chained(platform, con):
    farm(platform, NAMESAKES, ["R1"])
    load_namesakes(platform, con, cities={"K2": "koln", "K3": "koln"})  # two and two
    assert candidate_flags(con) == []


def test_namesakes_placed_by_different_referrers_without_the_rhythm_are_not_chained(platform, con):
    """One of the three ended stints lasted well past its guarantee end: across referrers, nothing but
    the rhythm ties namesakes together."""
    farm(platform, NAMESAKES, ["R1", "R2"], days_after=(5, 200, 3))
    load_namesakes(platform, con)
    assert candidate_flags(con, min_share_of_exits_after_guarantee=0.5) == []


def test_an_expert_re_registered_between_referrers_taking_turns_is_chained_by_the_rhythm(platform, con):
    """Two referrers take turns placing namesake records; each stint ended days after its guarantee
    end and the next began 20 days later: one farmed expert, and both referrers took part."""
    farm(platform, NAMESAKES, ["R1", "R2"])
    load_namesakes(platform, con)
    flags = SerialRereferralDetector.from_config().detect(con)
    candidates = [f for f in flags if f[0] == "candidate"]
    assert len(candidates) == 1 and candidates[0][2] == "candidate:K1"
    assert json.loads(candidates[0][5])["chained_persons"] == ["candidate:K2", "candidate:K3", "candidate:K4"]
    assert {f[1] for f in flags if f[0] == "referrer"} == {"R1", "R2"}


def test_the_rhythm_across_referrers_needs_each_placement_soon_after_the_last(platform, con):
    """The same rhythm with four months between one job's end and the next start: namesakes."""
    from bountyguard import models
    from bountyguard.config import load_config

    farm(platform, NAMESAKES, ["R1", "R2"], gap_days=120)
    load_namesakes(platform, con)
    assert candidate_flags(con) == []
    models.build(con, ["chained_stints"],
                 config=load_config(overrides={"serial_rereferral": {"chain_max_gap_days": 150}}))
    assert len(candidate_flags(con)) == 1


def test_the_rhythm_across_referrers_still_respects_birth_dates_and_cities(platform, con):
    farm(platform, NAMESAKES, ["R1", "R2"])
    for row, born in zip(platform.rows["candidates"], ["1990-01-01", None, "1985-05-05", None]):
        row["birth_date"] = born
    load_namesakes(platform, con)
    assert candidate_flags(con) == []


def test_the_rhythm_across_referrers_with_a_city_each_is_two_people(platform, con):
    farm(platform, NAMESAKES, ["R1", "R2"])
    load_namesakes(platform, con, cities={"K2": "koln"})
    assert candidate_flags(con) == []


def test_namesakes_holding_two_jobs_at_once_are_two_people(platform, con):
    farm(platform, NAMESAKES, ["R1"])
    platform.job("J9", "C9", guarantee_days=90)
    platform.referred_hire("9", "R1", "K4", "J9", started="2025-02-01")  # while K1's first stint runs
    load_namesakes(platform, con)
    assert candidate_flags(con) == []


def test_a_return_to_a_company_of_the_sequence_breaks_the_rhythm(platform, con):
    """The third namesake went back to the first one's employer: a farmed expert is re-referred to a
    new company each time, so across referrers these are not chained."""
    farm(platform, NAMESAKES, ["R1", "R2"])
    next(j for j in platform.rows["jobs"] if j["job_id"] == "J2")["company_id"] = "C0"
    load_namesakes(platform, con)
    assert candidate_flags(con) == []
