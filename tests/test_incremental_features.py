"""The feature tables kept between runs (bountyguard/incremental.py): a daily run rebuilds only the
rows whose inputs changed, and the tables then hold what a full build would.

Each case is a way a row changes without its own row being loaded again, the ones the generated
platform of test_incremental_equals_full.py does not make: the as-of date passing an exit or a hire
dated ahead, a new record that merges persons (an old hire's candidate person changes), a payout
moved from one hire to another; for the behaviour tables (one row per person), a referral leaving a
30-day window, a guarantee ending, a signup date corrected, and the look-alikes that change nothing.
The oracle is the models' own SQL, run in full on the same data.
"""
import datetime as dt
import json

import duckdb

from bountyguard import incremental, models, pipeline
from bountyguard.config import defaults
from tests.builders import Platform

DAY1, DAY2 = "2024-06-01", "2024-06-03"
# the feature tables a run with the default detectors builds
TARGETS = sorted(incremental.KEPT)


def _first_day() -> Platform:
    p = Platform()
    p.job("J1", "CO1")
    p.job("J2", "CO2")
    # the exit on 2 June is dated ahead on 1 June: known from the run as of 3 June
    p.referred_hire("1", "R1", "C1", "J1", started="2024-03-01", ended="2024-06-02")
    # referred and hired on 2 June, loaded the day before (a platform that writes ahead)
    p.referred_hire("2", "R2", "C2", "J2", started="2024-07-01", referred="2024-06-02T08:00:00Z",
                    hired="2024-06-02T15:00:00Z")
    p.add("candidates", candidate_id="C5", full_name="Lena Fischer", email="lena.fischer@example.org")
    p.referred_hire("3", "R3", "C5", "J1", started="2024-02-01")
    p.add("hires", hire_id="H6", candidate_id="C5", job_id="J2", hired_at="2023-05-01T10:00:00Z",
          started_at="2023-06-01", ended_at="2023-12-31", end_reason="resigned")  # hired directly
    p.add("referrals", referral_id="RF7", referrer_id="R1", candidate_id="C5", job_id="J2",
          referred_at="2024-05-01T10:00:00Z")  # not hired
    p.referred_hire("4", "R4", "C6", "J1", started="2024-01-15")
    p.referred_hire("5", "R4", "C7", "J2", started="2024-01-20")
    return p


def _second_day() -> Platform:
    p = Platform()
    # a new record of Lena Fischer, with her e-mail: one person, now anchored on the new record
    p.add("candidates", candidate_id="C0", full_name="Lena Fischer", email="lena.fischer@example.org")
    # the platform moves payout P4 to hire H5 (booked on the wrong hire)
    p.add("payouts", payout_id="P4", hire_id="H5", referral_id="RF5", referrer_id="R4", amount="1000.00",
          eligible_at="2024-04-19", updated_at="2024-06-02T09:00:00Z")
    return p


def _stored_and_full(db, run_id, as_of, table):
    """(rows only in the stored table, rows only in a full build of it), on the same data."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        models.enter_run(con, run_id, as_of)
        sql, params = models.query(table, config=defaults())
        only = [con.execute(f"SELECT * FROM ({a}) EXCEPT ALL SELECT * FROM ({b})", params or None).fetchall()
                for a, b in ((f"SELECT * FROM main.{table}", sql), (sql, f"SELECT * FROM main.{table}"))]
        return tuple(only)
    finally:
        con.close()


def _recording_rebuilt_keys(monkeypatch) -> list[dict[str, list]]:
    """The keys each incremental build rebuilt, per kept table (incremental.KEPT's temp tables)."""
    rebuilt, build = [], incremental.build

    def recorded(con, *args):
        counts = build(con, *args)
        rebuilt.append({name: sorted(r[0] for r in con.execute(f"SELECT * FROM {keys}").fetchall())
                        for name, keys in incremental.KEPT.items()})
        return counts

    monkeypatch.setattr(incremental, "build", recorded)
    return rebuilt


def _stint(db, hire_id):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT candidate_person_id, ended_at, payout_id FROM stints WHERE hire_id = ?",
                           [hire_id]).fetchone()
    finally:
        con.close()


def test_a_daily_run_updates_the_kept_feature_tables_to_what_a_full_build_gives(tmp_path, monkeypatch):
    db = tmp_path / "bg.duckdb"
    assert pipeline.run(_first_day().write_landing(tmp_path / "day1"), db, DAY1)["status"] == "clean"
    before = {h: _stint(db, h) for h in ("H1", "H2", "H3", "H4", "H5", "H6")}
    assert before["H1"][1] is None and before["H2"] is None  # not known yet on 1 June
    assert (before["H4"][2], before["H5"][2]) == ("P4", "P5")

    rebuilt = _recording_rebuilt_keys(monkeypatch)
    summary = pipeline.run(_second_day().write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")

    # the run updated the tables in place, and only the hires and referrals whose inputs changed
    assert [{name: keys[name] for name in incremental.ROWS} for keys in rebuilt] == [
        {"stints": ["H1", "H2", "H3", "H4", "H5", "H6"], "referral_facts": ["RF1", "RF2", "RF3", "RF4", "RF5", "RF7"]}]
    after = {h: _stint(db, h) for h in before}
    assert str(after["H1"][1]) == "2024-06-02" and after["H2"] is not None
    # Lena Fischer's person is anchored on her new record, in her referred and her direct hire
    assert after["H3"][0] == after["H6"][0] != before["H3"][0]
    assert (after["H4"][2], after["H5"][2]) == (None, "P4")
    for table in incremental.KEPT:
        assert _stored_and_full(db, summary["run_id"], DAY2, table) == ([], []), table


def _behaviour_first_day() -> Platform:
    p = Platform()
    p.job("J1", "CO1", guarantee_days=90)
    for who in ("A", "B", "C", "D"):
        p.add("referrers", referrer_id=f"R{who}", full_name=f"Referrer {who}", signed_up_at="2024-01-01T00:00:00Z")
        p.add("candidates", candidate_id=f"C{who}", full_name=f"Candidate {who}")
    # referred 29 days before 1 June: in the 30-day window on 1 June, out of it on 3 June
    p.add("referrals", referral_id="RFA", referrer_id="RA", candidate_id="CA", job_id="J1",
          referred_at="2024-05-03T10:00:00Z")
    # started 4 March: the 90-day guarantee ends on 2 June
    p.referred_hire("B", "RB", "CB", "J1", started="2024-03-04")
    # look-alikes: nothing of theirs changes between 1 and 3 June
    p.add("referrals", referral_id="RFC", referrer_id="RC", candidate_id="CC", job_id="J1",
          referred_at="2024-01-10T10:00:00Z")
    p.add("referrals", referral_id="RFD", referrer_id="RD", candidate_id="CD", job_id="J1",
          referred_at="2024-02-01T10:00:00Z")
    # Lena Fischer, referred once, and an older profile of hers without referrals: one person, whose
    # profile dates from 2020 until the platform corrects that profile (another person's)
    p.add("referrers", referrer_id="RE", full_name="Referrer E", signed_up_at="2024-01-01T00:00:00Z")
    p.add("candidates", candidate_id="CE", full_name="Lena Fischer", email="lena.fischer@example.org")
    p.add("candidates", candidate_id="CX", full_name="Lena Fischer", email="lena.fischer@example.org",
          created_at="2020-01-01T00:00:00Z")
    p.add("referrals", referral_id="RFE", referrer_id="RE", candidate_id="CE", job_id="J1",
          referred_at="2024-02-01T10:00:00Z")
    return p


def test_a_daily_run_rebuilds_the_behaviour_of_the_persons_whose_rows_or_windows_changed(tmp_path, monkeypatch):
    db = tmp_path / "bg.duckdb"
    assert pipeline.run(_behaviour_first_day().write_landing(tmp_path / "day1"), db, DAY1)["status"] == "clean"
    rebuilt = _recording_rebuilt_keys(monkeypatch)
    day2 = Platform()
    # the platform corrects RD's signup date: only RD's account age changes, not its candidate's rows
    day2.add("referrers", referrer_id="RD", full_name="Referrer D", signed_up_at="2023-12-01T00:00:00Z")
    day2.add("candidates", candidate_id="CX", full_name="Tomasz Nowak", email="tomasz.nowak@example.org",
             created_at="2020-01-01T00:00:00Z")
    summary = pipeline.run(day2.write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")

    con = duckdb.connect(str(db), read_only=True)
    try:
        person = dict(con.execute("SELECT record_id, person_id FROM person_records").fetchall())
        assert {r: v for r, v in con.execute(
            "SELECT person_id, account_age_days_at_first_referral FROM referrer_behaviour").fetchall()}[
            person["RD"]] == 62  # signed up 1 December 2023, first referral 1 February
        # Lena's profile now dates from 2023 (the builder's default), her person id is kept
        assert con.execute("SELECT profile_age_days_at_first_referral FROM candidate_behaviour "
                           "WHERE person_id = ?", [person["CE"]]).fetchone()[0] == 396
    finally:
        con.close()
    assert [{name: keys[name] for name in incremental.PERSONS} for keys in rebuilt] == [
        {"referrer_behaviour": sorted([person["RA"], person["RB"], person["RD"]]),
         # CX's own person has no referral, so no row: rebuilt to nothing
         "candidate_behaviour": sorted([person["CA"], person["CB"], person["CE"], person["CX"]])}]
    for table in incremental.KEPT:
        assert _stored_and_full(db, summary["run_id"], DAY2, table) == ([], []), table


def test_a_run_with_nothing_to_build_on_builds_in_full(tmp_path):
    db = tmp_path / "bg.duckdb"
    landing = _first_day().write_landing(tmp_path / "day1")
    pipeline.run(landing, db, DAY1)
    con = duckdb.connect(str(db))
    try:
        assert con.execute("SELECT count(*) FROM feature_state").fetchone()[0] == 1
        assert incremental.start(con, "another", dt.date(2024, 5, 1), TARGETS, defaults()) is None  # as of an earlier date
        # start() removed the row: a run that stops before finish() leaves none to build on
        assert con.execute("SELECT count(*) FROM feature_state").fetchone()[0] == 0
        assert incremental.start(con, "another", dt.date.fromisoformat(DAY2), TARGETS, defaults()) is None
        # after FULL_BUILD_EVERY incremental builds the next one is full (rows deleted in place go)
        run_id = con.execute("SELECT max(run_id) FROM runs").fetchone()[0]
        day2 = dt.date.fromisoformat(DAY2)
        for since_full, builds_on_it in ((incremental.FULL_BUILD_EVERY - 1, True),
                                         (incremental.FULL_BUILD_EVERY, False)):
            incremental.finish(con, run_id, dt.date.fromisoformat(DAY1), {"builds_since_full": since_full - 1},
                               TARGETS, defaults())
            assert (incremental.start(con, "another", day2, TARGETS, defaults()) is not None) is builds_on_it
        # other settings of a kept table, or a run that left a kept table alone: full
        other = {**defaults(), "anomaly": {**defaults()["anomaly"], "exit_window_days": 7}}
        for targets, config in ((TARGETS, other), (["stints", "referral_facts"], defaults())):
            incremental.finish(con, run_id, dt.date.fromisoformat(DAY1), None, targets, config)
            assert incremental.start(con, "another", day2, TARGETS, defaults()) is None
            incremental.finish(con, run_id, dt.date.fromisoformat(DAY1), None, targets, config)
            assert incremental.start(con, "another", day2, targets, config) is not None
    finally:
        con.close()


def test_a_kept_model_reads_only_the_rows_of_the_keys_it_rebuilds(tmp_path):
    """models.build redefines in_build_scope (sql/macros.sql) for an update in place; each kept model
    calls it where it reads its rows, so a daily run does not compute every key to keep a few."""
    db = tmp_path / "bg.duckdb"
    platform = _first_day()
    for table, rows in _chains_first_day()[0].rows.items():  # (their chains are under three names)
        platform.rows[table] += rows
    assert pipeline.run(platform.write_landing(tmp_path / "day1"), db, DAY1)["status"] == "clean"
    con = duckdb.connect(str(db))
    try:
        models.enter_run(con, "check", DAY1)
        for name in incremental.KEPT:
            key = models.models()[name].unique_key
            sql, params = models.query(name, config=defaults())
            everyone = {r[0] for r in con.execute(f"SELECT {key} FROM ({sql}\n)", params or None).fetchall()}
            one = min(everyone)
            con.execute(f"CREATE OR REPLACE TEMP TABLE rebuilt_keys AS SELECT ? AS {key}", [one])
            with models.build_scope(con, key, "rebuilt_keys"):
                scoped = {r[0] for r in con.execute(f"SELECT {key} FROM ({sql}\n)", params or None).fetchall()}
            assert len(everyone) > 1 and scoped == {one}, name
    finally:
        con.close()


def test_a_run_loaded_again_leaves_nothing_to_build_on(tmp_path):
    """An operator clears a run's tasks after later runs and its files are loaded again: the rows it
    stamps now were counted as seen by the kept tables' state, so the next run builds in full."""
    db = tmp_path / "bg.duckdb"
    first = pipeline.run(_first_day().write_landing(tmp_path / "day1"), db, DAY1)
    pipeline.run(Platform().write_landing(tmp_path / "day2"), db, DAY2)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM feature_state").fetchone()[0] == 1
    con.close()
    pipeline.ingest(db, first["run_id"])
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM feature_state").fetchone()[0] == 0
    finally:
        con.close()


def _farm(p: Platform, tag: str, name: str, records: list[str], first_start: str, ended: int,
          city: str = "Düsseldorf") -> str:
    """A farmed expert: a record of `name` per placement (a new mailbox each time, nothing else in
    common, so identity resolution keeps them apart), two referrers taking turns, each stint ended 5
    days after its 90-day guarantee end and the next begun 20 days later; the stints after the first
    `ended` still running. Returns the day after the last stint's end (where the next would start)."""
    start = dt.date.fromisoformat(first_start)
    for i, record in enumerate(records):
        p.add("candidates", candidate_id=record, full_name=name, email=f"{record.lower()}@example.org", city=city)
        p.job(f"J{tag}{i}", f"CO{tag}{i}")
        end = start + dt.timedelta(days=95) if i < ended else None
        p.referred_hire(f"{tag}{i}", f"R{tag}{i % 2}", record, f"J{tag}{i}", started=str(start),
                        ended=str(end) if end else None)
        start = start + dt.timedelta(days=115)
    return str(start)


def _chains_first_day() -> tuple[Platform, str]:
    p = Platform()
    _farm(p, "A", "Stefan Schulz", ["KA1", "KA2", "KA3"], "2023-06-05", ended=2)  # chained, left alone
    next_b = _farm(p, "B", "Anna Weber", ["KB1", "KB2"], "2023-06-05", ended=2)  # two stints: no chain yet
    _farm(p, "C", "Ivan Petrov", ["KC1", "KC2", "KC3"], "2023-06-05", ended=2)  # chained, then a city each
    _farm(p, "D", "Maria Lopez", ["KD1", "KD2", "KD3"], "2023-06-05", ended=2)  # chained, then two jobs at once
    return p, next_b


def test_a_daily_run_recomputes_the_chains_of_the_names_it_touched_only(tmp_path, monkeypatch):
    """The chains of re-registered candidates (sql/features/stint_chains.sql) kept by name: a new
    placement completes one, a record's corrected city and a member's direct hire held at once
    break two, and the chain nothing touched is neither recomputed nor lost."""
    db = tmp_path / "bg.duckdb"
    first, next_b = _chains_first_day()
    assert pipeline.run(first.write_landing(tmp_path / "day1"), db, DAY1)["status"] == "clean"

    def chained() -> dict[str, list[str]]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            records = dict(con.execute("SELECT person_id, record_id FROM person_records").fetchall())
            names = dict(con.execute("SELECT record_id, name_key FROM person_records").fetchall())
            rows = con.execute("SELECT name_key, candidate_person_id FROM stint_chains").fetchall()
        finally:
            con.close()
        chains: dict[str, list[str]] = {}
        for name, person in rows:
            chains.setdefault(name, []).append(records[person])
        return {name: sorted(members) for name, members in chains.items()}, names

    chains, names = chained()
    assert chains == {names["KA1"]: ["KA1", "KA2", "KA3"], names["KC1"]: ["KC1", "KC2", "KC3"],
                      names["KD1"]: ["KD1", "KD2", "KD3"]}

    rebuilt = _recording_rebuilt_keys(monkeypatch)
    second = Platform()
    # a third Anna Weber record placed by RB0 20 days after the second one's stint ended
    second.add("candidates", candidate_id="KB3", full_name="Anna Weber", email="kb3@example.org", city="Düsseldorf")
    second.job("JB2", "COB2")
    second.referred_hire("B2", "RB0", "KB3", "JB2", started=next_b)
    # the platform corrects KC2's city: Ivan Petrov in Düsseldorf and one in Köln are two people
    second.add("candidates", candidate_id="KC2", full_name="Ivan Petrov", email="kc2@example.org", city="Köln")
    # KD1 was hired directly while in the first farmed job: two jobs at once, two people
    second.job("JD9", "COD9")
    second.add("hires", hire_id="HD9", candidate_id="KD1", job_id="JD9", hired_at="2023-06-20T10:00:00Z",
               started_at="2023-07-01", ended_at="2023-08-01", end_reason="resigned")
    summary = pipeline.run(second.write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")

    chains, names = chained()
    assert chains == {names["KA1"]: ["KA1", "KA2", "KA3"], names["KB1"]: ["KB1", "KB2", "KB3"]}
    # only the names of the touched persons' stints were recomputed: not Stefan Schulz's
    assert [sorted(keys["stint_chains"]) for keys in rebuilt] == [
        sorted({names["KB1"], names["KC1"], names["KD1"]})]
    assert all(h.startswith(("HB", "HC", "HD")) for h in rebuilt[0]["stint_names"])
    for table in incremental.KEPT:
        assert _stored_and_full(db, summary["run_id"], DAY2, table) == ([], []), table


def test_a_record_without_hires_leaving_a_person_takes_its_name_off_the_persons_stints(tmp_path, monkeypatch):
    """The split case: Anna Weber's second placement (KB2) shares a mailbox with an "Anna Schmidt"
    record (KZ), which shares a phone with another (KY); neither has a hire, and the three are one
    person, so KB2's stint stands under both names. The platform corrects KZ's mailbox: KZ and KY
    leave KB2's person. Nothing of KB2 changed, so her stint is not rebuilt; only the records that
    moved say that her stint's rows under "Anna Schmidt" must go (moved_record_persons)."""
    db = tmp_path / "bg.duckdb"
    first = Platform()
    _farm(first, "B", "Anna Weber", ["KB1", "KB2", "KB3"], "2023-06-05", ended=2)
    first.add("candidates", candidate_id="KZ", full_name="Anna Schmidt", email="kb2@example.org",
              phone="+49 151 2345678", city="Düsseldorf")
    first.add("candidates", candidate_id="KY", full_name="Anna Schmidt", email="a.schmidt@example.org",
              phone="0151 2345678", city="Düsseldorf")
    assert pipeline.run(first.write_landing(tmp_path / "day1"), db, DAY1)["status"] == "clean"

    def person_names() -> tuple[dict[str, str], set[str]]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            persons = dict(con.execute("SELECT record_id, person_id FROM person_records").fetchall())
            names = {r[0] for r in con.execute(
                "SELECT DISTINCT n.name_key FROM stint_names n JOIN stints s USING (hire_id) "
                "WHERE s.candidate_id = 'KB2'").fetchall()}
        finally:
            con.close()
        return persons, names

    persons, names = person_names()
    assert persons["KB2"] == persons["KZ"] == persons["KY"]  # one person, under two names
    assert len(names) == 2

    rebuilt = _recording_rebuilt_keys(monkeypatch)
    second = Platform()
    second.add("candidates", candidate_id="KZ", full_name="Anna Schmidt", email="anna.schmidt@example.org",
               phone="+49 151 2345678", city="Düsseldorf")
    summary = pipeline.run(second.write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")

    after, names_after = person_names()
    assert after["KB2"] == persons["KB2"] != after["KZ"] == after["KY"]  # split; KB2 keeps her person
    assert len(names_after) == 1 and names_after < names
    assert "HB1" not in rebuilt[0]["stints"]  # her stint did not change: the moved records reached it
    assert "HB1" in rebuilt[0]["stint_names"]
    for table in incremental.KEPT:
        assert _stored_and_full(db, summary["run_id"], DAY2, table) == ([], []), table


def _run_flags(path, run_id, patterns) -> set[tuple]:
    """(pattern, entity, person, severity, score, evidence) of a run's flags of the patterns."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return set(con.execute(
            "SELECT pattern, entity_id, person_id, severity, round(score, 9), evidence FROM flags "
            "WHERE run_id = ? AND pattern IN (SELECT unnest(?::VARCHAR[]))", [run_id, list(patterns)]).fetchall())
    finally:
        con.close()


def _full_flags(tmp_path, platform: Platform, patterns, config=None) -> set[tuple]:
    """The flags of the patterns that a full run on `platform`'s data as of the second day gives (the
    oracle of the daily runs), in a file of its own."""
    full_db = tmp_path / "full.duckdb"
    full = pipeline.run(platform.write_landing(tmp_path / "full"), full_db, DAY2, config=config)
    assert full["status"] == "clean", full.get("message")
    return _run_flags(full_db, full["run_id"], patterns)


def _row_rule_day(corrected: bool) -> Platform:
    """Referred hires: HA and HB ended early, HL referred after the hire was agreed, HC's exit on 2
    June (before its guarantee end) dated ahead, RFD a duplicate of an earlier referral, RFE not (yet).
    `corrected`: the data as of the second day, where the platform corrected HB's exit to after its
    guarantee, RFN, a new late referral, came in, and CE's own earlier application (RFE a duplicate)."""
    p = Platform()
    p.job("J1", "CO1")
    p.job("J2", "CO2")
    p.referred_hire("A", "R1", "CA", "J1", started="2024-01-01", ended="2024-02-01")
    p.referred_hire("B", "R2", "CB", "J2", started="2024-01-05", ended="2024-05-01" if corrected else "2024-02-10")
    p.referred_hire("L", "R3", "CL", "J1", started="2024-02-01", referred="2024-01-20T10:00:00Z",
                    hired="2024-01-18T10:00:00Z")
    p.referred_hire("C", "R4", "CC", "J2", started="2024-04-01", ended="2024-06-02")
    # CD was referred to CO1 by R6 before R7's referral that led to her hire: R7's is a duplicate
    p.add("referrers", referrer_id="R6")
    p.add("referrals", referral_id="RFD0", referrer_id="R6", candidate_id="CD", job_id="J1",
          referred_at="2024-01-01T10:00:00Z")
    p.referred_hire("D", "R7", "CD", "J1", started="2024-03-01")
    p.referred_hire("E", "R8", "CE", "J2", started="2024-03-01")
    if corrected:
        p.referred_hire("N", "RN", "CN", "J1", started="2024-05-20", referred="2024-05-10T10:00:00Z",
                        hired="2024-05-09T10:00:00Z")
        # CE's own application to CO2, before R8 referred her, reaches the platform's export late
        p.add("applications", application_id="APPN", candidate_id="CE", job_id="J2",
              applied_at="2024-01-10T10:00:00Z", source="direct")
    return p


def test_a_daily_run_computes_the_row_rules_on_the_rebuilt_rows_and_carries_the_other_flags(tmp_path, monkeypatch):
    """early_exit and late_referral (detectors' flags_follow): each flag follows one row of stints
    or referral_facts, so a daily run computes them on the rows it rebuilt and carries the base
    run's other flags; duplicate_referral's flags follow a candidate person's rows, applications
    included. A corrected exit loses its flag, an exit the as-of date reached, a new late referral
    and a referral that a late-loaded application makes a duplicate get theirs, the untouched flags
    are carried; all equal a full run's."""
    patterns = ("early_exit", "late_referral", "duplicate_referral")
    db = tmp_path / "bg.duckdb"
    assert pipeline.run(_row_rule_day(False).write_landing(tmp_path / "day1"), db, DAY1)["status"] == "clean"
    carried, flag = {}, pipeline._flag

    def recorded(con, run_id, generation, detector, base):
        total, kept = flag(con, run_id, generation, detector, base)
        if kept is not None:  # the base run's flags that stay current: carried, not computed again
            carried[detector.pattern] = kept
        return total, kept

    monkeypatch.setattr(pipeline, "_flag", recorded)
    second = Platform()
    second.add("hires", **{**next(h for h in _row_rule_day(False).rows["hires"] if h["hire_id"] == "HB"),
                           "ended_at": "2024-05-01"})
    # RFN with its records, hire and payout, not its job (loaded again, it would touch every row of J1)
    second.rows.update({t: second.rows[t] + [r for r in _row_rule_day(True).rows[t] if r[key].endswith("N")]
                        for t, key in (("referrers", "referrer_id"), ("candidates", "candidate_id"),
                                       ("referrals", "referral_id"), ("hires", "hire_id"), ("payouts", "payout_id"),
                                       ("applications", "application_id"))})
    summary = pipeline.run(second.write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")

    def flags(path, run_id) -> set[tuple]:
        return _run_flags(path, run_id, patterns)

    daily = flags(db, summary["run_id"])
    assert daily == _full_flags(tmp_path, _row_rule_day(True), patterns)
    assert sorted((p, e) for p, e, *_ in daily) == [
        ("duplicate_referral", "RFD"), ("duplicate_referral", "RFE"),
        ("early_exit", "HA"), ("early_exit", "HC"), ("late_referral", "RFL"), ("late_referral", "RFN")]
    assert {e: s for p, e, _, s, *_ in daily if p == "early_exit"} == {"HA": "high", "HC": "medium"}
    # HA's, RFL's and RFD's flags were carried; HB's, HC's and RFN's rows were rebuilt and CE's
    # person computed again
    # (job_hopping's, serial_rereferral's and shared_payout_account's too: nobody here hops or shares
    # an account)
    assert carried == {"early_exit": 1, "late_referral": 1, "duplicate_referral": 1, "job_hopping": 0,
                       "serial_rereferral": 0, "shared_payout_account": 0}

    # other settings of a rule: its flags are all computed again, with them (fail closed)
    carried.clear()
    (tmp_path / "rules.toml").write_text("[early_exit]\nhigh_severity_share = 0.3\n")
    third = pipeline.run(Platform().write_landing(tmp_path / "day3"), db, "2024-06-04",
                         config=tmp_path / "rules.toml")
    assert third["status"] == "clean", third.get("message")
    assert carried == {"late_referral": 2, "duplicate_referral": 2, "job_hopping": 0, "serial_rereferral": 0,
                       "shared_payout_account": 0}
    severity = {e: s for p, e, _, s, *_ in flags(db, third["run_id"]) if p == "early_exit"}
    assert severity == {"HA": "medium", "HC": "medium"}  # HA lasted 31 of 90 days: high below 0.5, not 0.3


def test_a_rule_that_follows_its_rows_reads_only_the_rows_in_scope(tmp_path):
    """A rule with `flags_follow` calls in_build_scope on its key where it reads its rows, so a daily
    run does not compute every flag to keep a few (the runner's filter alone would keep it right,
    and as slow as a full run): with nothing in scope, the rule's own SQL finds nothing."""
    from detectors import build_detectors

    from bountyguard.contract import TABLES

    db = tmp_path / "bg.duckdb"
    platform = _row_rule_day(True)  # with flags of every such rule
    for other in (_hoppers(2), _farmed(2), _accounts(2)):
        for table, rows in other.rows.items():
            known = {r[TABLES[table].key] for r in platform.rows[table]}
            platform.rows[table] += [r for r in rows if r[TABLES[table].key] not in known]
    assert pipeline.run(platform.write_landing(tmp_path / "day"), db, DAY2)["status"] == "clean"
    rules = [d for d in build_detectors(defaults()) if getattr(d, "flags_follow", None)]
    assert sorted(d.pattern for d in rules) == ["duplicate_referral", "early_exit", "job_hopping", "late_referral",
                                                "serial_rereferral", "shared_payout_account"]
    con = duckdb.connect(str(db))
    try:
        models.enter_run(con, "check", DAY2)
        models.build(con, ["chained_stints"], upstream=False)  # a view, made per connection
        for rule in rules:
            query, params = rule.flag_query()
            _, key, _ = incremental.FLAG_SCOPES[rule.flags_follow]
            con.execute(f"CREATE OR REPLACE TEMP TABLE no_keys AS SELECT NULL::VARCHAR AS {key} WHERE false")
            everyone = con.execute(f"SELECT count(*) FROM ({query})", params or None).fetchone()[0]
            with models.build_scope(con, key, "no_keys"):
                scoped = con.execute(f"SELECT count(*) FROM ({query})", params or None).fetchone()[0]
            assert everyone > 0 and scoped == 0, rule.pattern
    finally:
        con.close()


def _recording_carried(monkeypatch) -> dict:
    """Per pattern, how many of the flags the runs from now on hold were carried (None: computed)."""
    carried, flag = {}, pipeline._flag

    def recorded(con, run_id, generation, detector, base):
        total, kept = flag(con, run_id, generation, detector, base)
        carried[detector.pattern] = kept
        return total, kept

    monkeypatch.setattr(pipeline, "_flag", recorded)
    return carried


def _hoppers(day: int) -> Platform:
    """Candidates with short stints (job_hopping, a 12-month window): CA's three began from 2 June
    2023, so the first leaves the window as of 3 June 2024; CB's three are untouched; CC's third comes
    on the second day; CD's three are at two companies only (the look-alike)."""
    p = Platform()
    for company in ("CO1", "CO2", "CO3"):
        p.job(f"J{company}", company)
    stints = {"CA": [("2023-06-02", "2023-08-01"), ("2023-09-01", "2023-11-01"), ("2024-01-01", "2024-03-01")],
              "CB": [("2024-01-02", "2024-02-01"), ("2024-02-05", "2024-03-01"), ("2024-03-05", "2024-04-01")],
              "CC": [("2023-10-01", "2023-12-01"), ("2024-01-10", "2024-03-10")] + (
                  [("2024-04-01", "2024-05-15")] if day == 2 else []),
              "CD": [("2023-10-01", "2023-12-01"), ("2024-01-10", "2024-03-10"), ("2024-04-01", "2024-05-15")]}
    for candidate, spells in stints.items():
        p.add("candidates", candidate_id=candidate, full_name=f"Hopper {candidate[-1]}ovic",
              email=f"{candidate.lower()}@example.org")
        for i, (started, ended) in enumerate(spells):
            company = ("CO1", "CO2", "CO1" if candidate == "CD" else "CO3")[i]
            p.referred_hire(f"{candidate}{i}", f"R{candidate}{i}", candidate, f"J{company}", started=started,
                            ended=ended)
    return p


def test_a_daily_run_computes_job_hopping_for_the_changed_chained_candidates_only(tmp_path, monkeypatch):
    """job_hopping's flags follow a chained candidate person's stints (flags_follow "chained_candidate"):
    a daily run computes them for the persons whose stints changed or left the window, and carries the
    others. CA's flag ends (a stint left the window), CC gets one (a new short stint), CB's is
    carried, CD is never flagged; all equal a full run's."""
    config = tmp_path / "window.toml"
    config.write_text("[job_hopping]\nwindow_months = 12\n")
    db = tmp_path / "bg.duckdb"
    first = pipeline.run(_hoppers(1).write_landing(tmp_path / "day1"), db, DAY1, config=config)
    assert first["status"] == "clean", first.get("message")
    carried = _recording_carried(monkeypatch)
    second = Platform()
    second.rows.update({t: [r for r in _hoppers(2).rows[t] if r[key] in ("RFCC2", "HCC2", "PCC2", "RCC2")]
                        for t, key in (("referrers", "referrer_id"), ("referrals", "referral_id"),
                                       ("hires", "hire_id"), ("payouts", "payout_id"))})
    summary = pipeline.run(second.write_landing(tmp_path / "day2"), db, DAY2, config=config)
    assert summary["status"] == "clean", summary.get("message")
    monkeypatch.undo()

    assert sorted(e for _, e, *_ in _run_flags(db, first["run_id"], ["job_hopping"])) == ["CA", "CB"]
    daily = _run_flags(db, summary["run_id"], ["job_hopping"])
    assert daily == _full_flags(tmp_path, _hoppers(2), ["job_hopping"], config=config)
    assert sorted(e for _, e, *_ in daily) == ["CB", "CC"]
    assert carried["job_hopping"] == 1  # CB's flag; CA's and CC's persons computed again


def _chained(day: int) -> Platform:
    """One referrer placed three records of one name and city (three persons to identity resolution:
    other mailboxes) at three companies, one short stint after the other: a chain under KA, a
    job-hopper. On the second day the platform corrects KB's and KC's birth dates, which now
    contradict each other: the chain breaks, though no stint changed."""
    p = Platform()
    for company in ("CO1", "CO2", "CO3"):
        p.job(f"J{company}", company)
    births = {"KA": None, "KB": "1990-01-01" if day == 2 else None, "KC": "1991-02-02" if day == 2 else None}
    spells = [("KA", "2023-09-01", "2023-11-01"), ("KB", "2024-01-01", "2024-03-01"), ("KC", "2024-03-10", "2024-05-01")]
    for i, (candidate, started, ended) in enumerate(spells):
        p.add("candidates", candidate_id=candidate, full_name="Ivan Petrov", email=f"{candidate.lower()}@example.org",
              birth_date=births[candidate], updated_at="2024-06-02T09:00:00Z" if births[candidate] else None)
        p.referred_hire(f"K{i}", "RX", candidate, f"JCO{i + 1}", started=started, ended=ended)
    return p


def test_a_chain_that_breaks_without_a_changed_stint_reaches_job_hopping(tmp_path):
    """A candidate person who leaves a chain moves their stints from the chain's person to their own,
    with none of the stints rebuilt: the chain persons before and after
    (sql/incremental/changed_chained_candidates.sql) put KA's person in the daily run's scope, and
    its flag ends, as in a full run."""
    db = tmp_path / "bg.duckdb"
    first = pipeline.run(_chained(1).write_landing(tmp_path / "day1"), db, DAY1)
    assert first["status"] == "clean", first.get("message")
    second = Platform()
    second.rows["candidates"] = [r for r in _chained(2).rows["candidates"] if r["birth_date"]]
    summary = pipeline.run(second.write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")

    flagged = _run_flags(db, first["run_id"], ["job_hopping"])
    assert [e for _, e, *_ in flagged] == ["KC"] and '"chained_persons":["P' in flagged.pop()[-1]  # the chain's
    assert _run_flags(db, summary["run_id"], ["job_hopping"]) == _full_flags(tmp_path, _chained(2), ["job_hopping"])
    assert _run_flags(db, summary["run_id"], ["job_hopping"]) == set()


NAMES = {"FE": "Erik Lindqvist", "FG": "Greta Moreau", "FH": "Hamid Sadeghi", "RF1": "Olga Brandt",
         "RF2": "Piotr Nowak", "RF3": "Ines Duarte", "RF4": "Tomasz Wrobel"}


def _farmed(day: int) -> Platform:
    """serial_rereferral: FE placed three times, by RF1, RF2 and RF1 again, each stint ended a few days
    after its guarantee end; FG three times by RF3 alike (untouched). On the second day RF4 places FE
    a fourth time (running): FE's, RF1's and RF2's evidence changes, though neither referrer's own
    stints did; RF4 kept no rhythm and is not flagged. RF3 places FH (running): RF3's flag, computed
    again for its new stint, still rests on FG, whose stints did not change."""
    p = Platform()
    for company in ("CO1", "CO2", "CO3", "CO4"):
        p.job(f"J{company}", company)  # 90-day guarantees
    placements = [("FE", "RF1", "2023-01-01", "2023-04-10"), ("FE", "RF2", "2023-05-01", "2023-08-05"),
                  ("FE", "RF1", "2023-09-01", "2023-12-05"), ("FG", "RF3", "2023-01-01", "2023-04-08"),
                  ("FG", "RF3", "2023-05-01", "2023-08-02"), ("FG", "RF3", "2023-09-01", "2023-12-03")]
    placements += [("FE", "RF4", "2024-01-10", None), ("FH", "RF3", "2024-02-01", None)] if day == 2 else []
    for i, (candidate, referrer, started, ended) in enumerate(placements):
        for table, key, name in (("candidates", "candidate_id", candidate), ("referrers", "referrer_id", referrer)):
            if not any(r[key] == name for r in p.rows[table]):
                p.add(table, **{key: name}, full_name=NAMES[name], email=f"{name.lower()}@example.org")
        company = "CO4" if i >= 6 else ("CO1", "CO2", "CO3")[i % 3]
        p.referred_hire(f"S{i}", referrer, candidate, f"J{company}", started=started, ended=ended)
    return p


def test_a_daily_run_computes_serial_rereferral_for_the_changed_candidates_and_their_referrers(tmp_path,
                                                                                            monkeypatch):
    """serial_rereferral (flags_follow "chained_placements"): a daily run computes the flags of the
    chained candidates whose stints changed and of every referrer who placed them, and carries the
    others. RF1's and RF2's flags change with FE's new placement, not with their own stints; RF3's
    is computed again for a new placement and still reads FG's placements; FG's is carried; all
    equal a full run's."""
    db = tmp_path / "bg.duckdb"
    first = pipeline.run(_farmed(1).write_landing(tmp_path / "day1"), db, DAY1)
    assert first["status"] == "clean", first.get("message")
    carried = _recording_carried(monkeypatch)
    second = Platform()
    second.rows.update({t: [r for r in _farmed(2).rows[t] if r[key] in ("RF4", "FH") or r[key][-2:] in ("S6", "S7")]
                        for t, key in (("referrers", "referrer_id"), ("candidates", "candidate_id"),
                                       ("referrals", "referral_id"), ("hires", "hire_id"), ("payouts", "payout_id"))})
    summary = pipeline.run(second.write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")
    monkeypatch.undo()

    before = _run_flags(db, first["run_id"], ["serial_rereferral"])
    daily = _run_flags(db, summary["run_id"], ["serial_rereferral"])
    assert daily == _full_flags(tmp_path, _farmed(2), ["serial_rereferral"])
    assert sorted(e for _, e, *_ in daily) == ["FE", "FG", "RF1", "RF2", "RF3"]
    changed = {e for _, e, *_ in daily - before}
    assert changed == {"FE", "RF1", "RF2"}, changed  # the new placement is in their evidence
    assert carried["serial_rereferral"] == 1  # FG's (RF3's computed again, the same)


IBANS = {"X": "DE89 3704 0044 0532 0130 00", "Y": "GB33 BUKB 2020 1555 5555 55", "Z": "FR14 2004 1010 0505 0001 3M02 606",
         "W": "NL91 ABNA 0417 1643 00", "V": "DE44 5001 0517 5407 3249 31", "V1": "DE44 5001 0517 5407 3249 32"}


def _accounts(day: int) -> Platform:
    """shared_payout_account: SA1 and SA2 pay into X, SB1 and SB2 into Y (untouched), SC1 into Z and
    SD1 into W alone; SE1 and SE2 into IBANs one digit apart (the look-alike). On the second day SC2
    signs up with Z (SC1's record is not loaded again, yet SC1 is now flagged), SA2 moves to W (SA1's
    flag ends; SD1, not loaded again, is flagged with SA2) and SB1 earns a second payout."""
    p = Platform()
    p.job("J1", "CO1")
    accounts = {"SA1": "X", "SA2": "W" if day == 2 else "X", "SB1": "Y", "SB2": "Y", "SC1": "Z", "SD1": "W",
                "SE1": "V", "SE2": "V1"} | ({"SC2": "Z"} if day == 2 else {})
    names = {"SA1": "Olga Brandt", "SA2": "Piotr Nowak", "SB1": "Ines Duarte", "SB2": "Tomasz Wrobel",
             "SC1": "Erik Lindqvist", "SC2": "Greta Moreau", "SD1": "Hamid Sadeghi", "SE1": "Lena Fischer",
             "SE2": "Ivan Petrov"}
    for referrer, account in accounts.items():
        p.add("referrers", referrer_id=referrer, full_name=names[referrer], email=f"{referrer.lower()}@example.org",
              payout_iban=IBANS[account], updated_at="2024-06-02T09:00:00Z" if referrer == "SA2" and day == 2 else None)
    for i, referrer in enumerate(accounts):
        p.referred_hire(f"A{i}", referrer, f"CA{i}", "J1", started="2024-01-01")
    if day == 2:
        p.referred_hire("B2", "SB1", "CB2", "J1", started="2024-02-01")
    return p


def test_a_daily_run_computes_shared_payout_account_for_the_persons_of_the_changed_accounts(tmp_path, monkeypatch):
    """shared_payout_account (flags_follow "payout_accounts"): a daily run computes the flags of the
    persons of the referrer records loaded or moved since, of everyone holding an IBAN they hold now,
    and of everyone flagged (a group a record left, a payout loaded since); nobody else can gain or
    lose a flag. SC1 and SD1, whose records did not change, gain flags; SA1's ends; SB1's evidence
    counts its new payout; SE1 and SE2 are never flagged, nor computed; all equal a full run's."""
    db = tmp_path / "bg.duckdb"
    first = pipeline.run(_accounts(1).write_landing(tmp_path / "day1"), db, DAY1)
    assert first["status"] == "clean", first.get("message")
    carried = _recording_carried(monkeypatch)
    second = Platform()
    second.rows.update({t: [r for r in _accounts(2).rows[t] if r[key] in keep]
                        for t, key, keep in (("referrers", "referrer_id", {"SA2", "SC2"}),
                                             ("candidates", "candidate_id", {"CA8", "CB2"}),
                                             ("referrals", "referral_id", {"RFA8", "RFB2"}),
                                             ("hires", "hire_id", {"HA8", "HB2"}),
                                             ("payouts", "payout_id", {"PA8", "PB2"}))})
    scopes = []
    build = incremental.build

    def recorded(con, *args, **kwargs):
        counts = build(con, *args, **kwargs)
        scopes.append(sorted(r[0] for r in con.execute(
            "SELECT min(p.record_id) FROM changed_account_persons c JOIN person_records p USING (person_id) "
            "WHERE p.record_type = 'referrer' GROUP BY c.person_id").fetchall()))
        return counts

    monkeypatch.setattr(incremental, "build", recorded)
    summary = pipeline.run(second.write_landing(tmp_path / "day2"), db, DAY2)
    assert summary["status"] == "clean", summary.get("message")
    monkeypatch.undo()

    before = _run_flags(db, first["run_id"], ["shared_payout_account"])
    assert sorted(e for _, e, *_ in before) == ["SA1", "SA2", "SB1", "SB2"]
    daily = _run_flags(db, summary["run_id"], ["shared_payout_account"])
    assert daily == _full_flags(tmp_path, _accounts(2), ["shared_payout_account"])
    assert sorted(e for _, e, *_ in daily) == ["SA2", "SB1", "SB2", "SC1", "SC2", "SD1"]
    evidence = {e: json.loads(ev) for _, e, _, _, _, ev in daily}
    assert evidence["SB1"]["payouts_to_these_accounts"] == 2  # its second payout came on the second day
    # the changed records, the holders of their IBANs and the flagged persons: never SE1 or SE2
    assert scopes == [["SA1", "SA2", "SB1", "SB2", "SC1", "SC2", "SD1"]]
    assert carried["shared_payout_account"] == 0  # every flagged person was computed again
