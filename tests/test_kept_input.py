"""The Splink input kept between resolutions (bountyguard/identity/kept_input.py): updated by the day's
records, it must equal an input built from scratch over the same records, row for row and column for
column, whatever the day did: new records, corrections, removed records, blocks pushed over the cap and
back under it, a name part's count overtaking another record's rarest part."""
from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from bountyguard.identity import IdentityConfig, resolve_persons
from bountyguard.identity import kept_input
from bountyguard.identity import model as identity_model
from bountyguard.identity import resolve as identity
from tests.test_identity import load, persons_by_record

T1 = dt.datetime(2026, 1, 2, 9, 0)
# small pools: many namesakes, so that blocks of a cap of 3 fill, overflow and empty again
FIRST = ["Anna", "Anne", "Ivan", "Iwan", "Lena", "Olga"]
LAST = ["Berg", "Berger", "Petrov", "Petrow", "Koch"]
CITIES = ["Berlin", "Bonn", None]
DATES = [dt.date(1990, 1, 1), dt.date(1990, 1, 2), dt.date(1991, 5, 5), None]


def _candidate(rng: random.Random) -> tuple:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if rng.random() < 0.2:  # a middle name: three parts
        name = f"{rng.choice(FIRST)} {name}"
    return (name, None, None, rng.choice(DATES), rng.choice(CITIES), None)


def _prepare(con, config):
    identity._register_macros(con)
    identity._build_keyed(con, config)


def _kept_rows(con):
    return con.execute("SELECT * FROM identity_splink_rows ORDER BY unique_id").fetchall()


def _rows_from_scratch(con, config):
    con.execute("DROP VIEW identity_splink_input")  # (the kept input's view; a resolution drops it)
    identity_model._build_splink_input(con, config)
    return con.execute("SELECT * FROM identity_splink_input ORDER BY unique_id").fetchall()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_kept_input_equals_one_built_from_scratch_day_after_day(seed):
    rng = random.Random(seed)
    config = IdentityConfig.from_config(max_block_size=3)
    con = duckdb.connect()
    load(con, {}, {f"c{i:03d}": _candidate(rng) for i in range(40)})
    _prepare(con, config)
    assert kept_input.splink_input(con, config, full=False)["input"] == "built"  # nothing kept yet
    next_id = 40
    updated_blocks = 0
    for day in range(6):
        ids = [r[0] for r in con.execute("SELECT candidate_id FROM candidates ORDER BY 1").fetchall()]
        for _ in range(rng.randint(1, 4)):  # new records
            values = _candidate(rng)
            con.execute("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [f"c{next_id:03d}", *values, T1, T1])
            next_id += 1
        for candidate_id in rng.sample(ids, 3):  # corrections
            name, _, _, birth_date, city, _ = _candidate(rng)
            con.execute("UPDATE candidates SET full_name = ?, birth_date = ?, city = ? WHERE candidate_id = ?",
                        [name, birth_date, city, candidate_id])
        con.execute("DELETE FROM candidates WHERE candidate_id = ?", [rng.choice(ids)])  # removed
        before = _kept_rows(con)
        _prepare(con, config)
        stats = kept_input.splink_input(con, config, full=False)
        assert stats["input"] == "updated" and stats["input_changed_records"] >= 2, day
        kept = _kept_rows(con)
        assert kept == _rows_from_scratch(con, config), f"seed {seed}, day {day}"
        # records nobody edited had block keys rewritten (blocks crossed the cap): the hard case ran
        unchanged = {r[0]: r for r in before}
        updated_blocks += sum(1 for r in kept if r[0] in unchanged and r != unchanged[r[0]])
    assert updated_blocks > 0


def test_a_count_that_overtakes_another_part_changes_the_rarest_part_of_records_nobody_edited():
    config = IdentityConfig.from_config()
    con = duckdb.connect()
    load(con, {}, {"c1": ("Olga Berg", None, None, None, "Bonn", None),
                   "c2": ("Ivan Petrov", None, None, None, "Bonn", None)})
    _prepare(con, config)
    kept_input.splink_input(con, config, full=False)

    def rarest_and_parts():
        return con.execute("SELECT name_rarest, list_sort(name_tokens) FROM identity_splink_rows "
                           "WHERE unique_id = 'candidate:c1'").fetchall()[0]

    # both parts are held by one record: the tie goes to the first in sort order (the surname's key)
    rarest, (first_part, second_part) = rarest_and_parts()
    assert rarest == first_part
    con.execute("INSERT INTO candidates VALUES ('c3', 'Anna Berg', NULL, NULL, NULL, 'Bonn', NULL, ?, ?)", [T1, T1])
    _prepare(con, config)
    assert kept_input.splink_input(con, config, full=False)["input_changed_records"] == 1
    # two records hold the surname now: c1's rarest part is its given name
    assert rarest_and_parts()[0] == second_part
    assert _kept_rows(con) == _rows_from_scratch(con, config)


def test_a_part_whose_count_falls_below_the_rarest_part_takes_its_place_in_records_nobody_edited():
    config = IdentityConfig.from_config()
    con = duckdb.connect()
    load(con, {}, {"c1": ("Olga Berg", None, None, None, "Bonn", None),
                   "c2": ("Olga Petrov", None, None, None, "Bonn", None),
                   "c3": ("Anna Berg", None, None, None, "Bonn", None),
                   "c4": ("Lena Berg", None, None, None, "Bonn", None)})
    _prepare(con, config)
    kept_input.splink_input(con, config, full=False)

    def rarest_of_c1():
        return con.execute("SELECT name_rarest FROM identity_splink_rows WHERE unique_id = 'candidate:c1'"
                           ).fetchall()[0][0]

    given = rarest_of_c1()  # Olga: two records; Berg: three
    # two of the Bergs leave: Berg (one record now) is rarer than Olga, whose count did not move
    con.execute("DELETE FROM candidates WHERE candidate_id IN ('c3', 'c4')")
    _prepare(con, config)
    assert kept_input.splink_input(con, config, full=False)["input_changed_records"] == 2
    assert rarest_of_c1() != given
    assert _kept_rows(con) == _rows_from_scratch(con, config)


def test_another_fingerprint_or_an_interrupted_update_builds_the_input_from_scratch():
    con = duckdb.connect()
    load(con, {}, {"c1": ("Olga Berg", None, None, None, "Bonn", None)})
    config = IdentityConfig.from_config()
    _prepare(con, config)
    assert kept_input.splink_input(con, config, full=False)["input"] == "built"
    assert kept_input.splink_input(con, config, full=False)["input"] == "updated"
    assert kept_input.splink_input(con, config, full=True)["input"] == "built"
    # another cap: every block key may differ
    assert kept_input.splink_input(con, IdentityConfig.from_config(max_block_size=7), full=False)["input"] == "built"
    # an update that stopped halfway left no state row: the next one trusts nothing kept
    con.execute("DELETE FROM identity_input_state")
    assert kept_input.splink_input(con, config, full=False)["input"] == "built"


def test_resolutions_on_the_kept_input_end_with_what_a_full_resolution_finds():
    rng = random.Random(7)
    config = IdentityConfig.from_config(max_block_size=3)
    con = duckdb.connect()
    load(con, {}, {f"c{i:03d}": _candidate(rng) for i in range(40)})
    assert resolve_persons(con, config)["input"] == "built"
    for day in range(3):
        con.execute("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [f"n{day}", *_candidate(rng), T1, T1])
        con.execute("UPDATE candidates SET full_name = ? WHERE candidate_id = ?",
                    [_candidate(rng)[0], f"c{rng.randrange(40):03d}"])
        stats = resolve_persons(con, config)
        assert stats["input"] == "updated" and stats["resolution"] == "incremental"
    persons = persons_by_record(con)
    links = sorted(con.execute("SELECT * FROM person_links").fetchall())
    assert resolve_persons(con, config, full=True)["input"] == "built"
    assert persons_by_record(con) == persons
    assert sorted(con.execute("SELECT * FROM person_links").fetchall()) == links


def _kept_states(con) -> dict:
    """What the kept states of a resolution hold (record ids, digests, keys, persons, links)."""
    queries = {
        "scored": "SELECT unique_id, row_digest FROM identity_scored_records",
        "exact": "SELECT * FROM identity_exact_records",
        "splink_rows": "SELECT * FROM identity_splink_rows",
        "persons": "SELECT * FROM person_records",
        "links": "SELECT * FROM person_links",
    }
    return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}


@pytest.mark.parametrize("interrupted", [None, "_predict", "_persons"])
def test_after_each_incremental_resolution_every_kept_state_equals_a_full_resolutions(interrupted, monkeypatch):
    """Each kept state compares only the records noted as changed since the last completed resolution
    (identity_changed_records). A record nobody edited whose block key moved (blocks of a cap of 3
    crossing it both ways), a removed record, and the changes of a resolution that stopped halfway
    (after the Splink input was updated, or after the links were saved) must all reach every state:
    each day the kept states equal what a full resolution of the same records writes."""
    rng = random.Random(11)
    config = IdentityConfig.from_config(max_block_size=3)
    con = duckdb.connect()
    load(con, {}, {f"c{i:03d}": _candidate(rng) for i in range(40)})
    resolve_persons(con, config)
    for day in range(5):
        ids = [r[0] for r in con.execute("SELECT candidate_id FROM candidates ORDER BY 1").fetchall()]
        for n in range(2):
            con.execute("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [f"n{day}{n}", *_candidate(rng), T1, T1])
        con.execute("UPDATE candidates SET full_name = ?, city = ? WHERE candidate_id = ?",
                    [_candidate(rng)[0], rng.choice(CITIES), rng.choice(ids)])
        con.execute("DELETE FROM candidates WHERE candidate_id = ?", [rng.choice(ids)])
        if interrupted and day == 2:
            with monkeypatch.context() as patched:
                def stop(*args, **kwargs):
                    raise RuntimeError("stopped")
                patched.setattr(identity, interrupted, stop)
                with pytest.raises(RuntimeError):
                    resolve_persons(con, config)
            continue  # the next day's resolution picks up both days' changes
        stats = resolve_persons(con, config)
        assert stats["input"] == "updated", day
        if interrupted != "_predict" or day != 3:  # (interrupted in between: the scores start over)
            assert stats["resolution"] == "incremental", day
        incremental = _kept_states(con)
        assert con.execute("SELECT count(*) FROM identity_changed_records").fetchall() == [(0,)]
        con.execute("BEGIN TRANSACTION")
        try:
            resolve_persons(con, config, full=True)
            full = _kept_states(con)
        finally:
            con.execute("ROLLBACK")
        for state in incremental:
            assert incremental[state] == full[state], (state, day)
