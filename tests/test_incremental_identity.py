"""Incremental identity resolution: a resolution scores only the pairs with a record touched since the
last one, keeps the other links, and ends with what a full resolution of the same data finds: persons
merge when a new record bridges two of them and split when a correction removes their link.

The built-in model (fewer records than min_records_for_training) keeps these fast; the trained model
with its frozen term frequencies is covered by tests/test_incremental_equals_full.py."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from bountyguard.identity import IdentityConfig, resolve_persons
from tests.test_identity import CANDIDATES, REFERRERS, load, persons_by_record

D = dt.date
T1 = dt.datetime(2026, 1, 2, 9, 0)

# one person whose records the model links only pairwise: A and C have nothing in common but through B
# (B matches A on name, birth date and city, and shares C's mailbox)
KATHARINA_A = ("Katharina Vogelsang", None, None, D(1988, 4, 12), "Freiburg", None)
KATHARINA_B = ("Katharina Vogelsang", "kv88@example.org", None, D(1988, 4, 12), "Freiburg", None)
KATHARINA_C = ("Kathi Ries", "kv88@example.org", None, None, None, None)


def _links(con):
    return sorted(con.execute("SELECT * FROM person_links").fetchall())


def _resolve(con, **overrides):
    return resolve_persons(con, IdentityConfig.from_config(**overrides))


def _equals_full(con, **overrides):
    """The persons and links the incremental resolution left, and those of a full one, same data."""
    incremental = (persons_by_record(con), _links(con))
    stats = resolve_persons(con, IdentityConfig.from_config(**overrides), full=True)
    assert stats["resolution"] == "full"
    return incremental == (persons_by_record(con), _links(con))


def _add_candidate(con, candidate_id, values):
    con.execute("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [candidate_id, *values, T1, T1])


@pytest.fixture
def con():
    con = duckdb.connect()
    load(con, REFERRERS, {**CANDIDATES, "c-kat-a": KATHARINA_A, "c-kat-c": KATHARINA_C})
    stats = _resolve(con)
    assert stats["resolution"] == "full"  # nothing resolved before
    return con


def test_a_new_record_bridging_two_persons_merges_them(con):
    persons = persons_by_record(con)
    assert persons["candidate", "c-kat-a"] != persons["candidate", "c-kat-c"]
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    stats = _resolve(con)
    assert stats["resolution"] == "incremental" and stats["touched_records"] == 1 and stats["kept_links"] > 0
    # only the persons the new record's links reach are clustered again: A's, C's and B itself
    assert stats["clustering"] == "incremental" and stats["clustered_records"] == 3
    persons = persons_by_record(con)
    assert persons["candidate", "c-kat-a"] == persons["candidate", "c-kat-b"] == persons["candidate", "c-kat-c"]
    assert _equals_full(con)


def test_a_correction_that_removes_the_link_splits_the_person(con):
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    _resolve(con)
    # the mailbox was typed into the wrong record, and B is someone else (another birth date)
    con.execute("UPDATE candidates SET email = NULL, birth_date = DATE '1979-09-30', updated_at = ? "
                "WHERE candidate_id = 'c-kat-b'", [T1])
    stats = _resolve(con)
    assert stats["resolution"] == "incremental" and stats["touched_records"] == 1
    # the whole former person is clustered again, and nobody else
    assert stats["clustering"] == "incremental" and stats["clustered_records"] == 3
    persons = persons_by_record(con)
    assert persons["candidate", "c-kat-a"] != persons["candidate", "c-kat-b"]
    assert persons["candidate", "c-kat-a"] != persons["candidate", "c-kat-c"]
    assert _equals_full(con)


@pytest.mark.parametrize("kept, new", [("Anna Schmidt", "Znna Schmidt"), ("Znna Schmidt", "Anna Schmidt")])
def test_a_new_record_meeting_a_kept_one_only_across_name_positions_is_scored(kept, new):
    """A typo in a first letter flips the sorted name parts ('ana shmidt', 'shmidt sna'): only the cross
    rule (one record's first part is the other's last, same birth date) blocks the pair, once the
    birth date's own block is over the cap and split by first letter, and the cities differ. The
    scoring of a daily run must meet the kept record through either side of that rule."""
    con = duckdb.connect()
    crowd = {f"c-crowd-{i}": (name, None, None, D(1990, 5, 4), None, None)
             for i, name in enumerate(["Petra Lang", "Olga Wirth", "Ute Brandt"])}
    # a namesake born elsewhen: Schmidt is common, so the kept record's rarest part stays as it was
    # and the new record touches nobody else
    crowd["c-karl"] = ("Karl Schmidt", None, None, D(1970, 1, 1), None, None)
    load(con, {}, {"c-kept": (kept, None, None, D(1990, 5, 4), "Kassel", None), **crowd})
    _resolve(con, max_block_size=2)
    _add_candidate(con, "c-new", (new, None, None, D(1990, 5, 4), "Fulda", None))
    stats = _resolve(con, max_block_size=2)
    assert stats["resolution"] == "incremental" and stats["touched_records"] == 1
    assert [link[:4] for link in _links(con)] == [("candidate", "c-kept", "candidate", "c-new")]
    assert _equals_full(con, max_block_size=2)


def test_a_daily_run_scores_its_few_records_in_fewer_chunks_with_the_same_links():
    """predict_chunks is set for a full load; a daily run's touched records and partners are cut into
    chunks of about the same size, here one."""
    con = duckdb.connect()
    load(con, REFERRERS, {**CANDIDATES, "c-kat-a": KATHARINA_A, "c-kat-c": KATHARINA_C})
    assert _resolve(con, predict_chunks=3)["predict_chunks"] == 3
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    stats = _resolve(con, predict_chunks=3)
    assert stats["resolution"] == "incremental" and stats["predict_chunks"] == 1
    persons = persons_by_record(con)
    assert persons["candidate", "c-kat-a"] == persons["candidate", "c-kat-b"] == persons["candidate", "c-kat-c"]
    assert _equals_full(con, predict_chunks=3)


def test_a_removed_record_takes_its_links_with_it(con):
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    _resolve(con)
    con.execute("DELETE FROM candidates WHERE candidate_id = 'c-kat-b'")
    stats = _resolve(con)
    assert stats["resolution"] == "incremental" and stats["touched_records"] == 0
    assert "c-kat-b" not in {r for _, r in persons_by_record(con)}
    assert not any("c-kat-b" in (link[1], link[3]) for link in _links(con))
    assert _equals_full(con)


def test_records_arriving_over_days_end_as_one_full_resolution():
    """The fixture's people (transliterations, aliases, households, twins) arriving in three batches."""
    con = duckdb.connect()
    referrers, candidates = list(REFERRERS.items()), list(CANDIDATES.items())
    for day in range(3):
        load(con, dict(referrers[: (day + 1) * len(referrers) // 3]), dict(candidates[: (day + 1) * len(candidates) // 3]))
        stats = _resolve(con)
        assert stats["resolution"] == ("full" if day == 0 else "incremental")
    assert stats["touched_records"] < stats["fuzzy_records"]
    assert _equals_full(con)


def test_nothing_touched_scores_nothing_and_keeps_every_person(con):
    before = (persons_by_record(con), _links(con))
    stats = _resolve(con)
    assert stats["resolution"] == "incremental" and stats["touched_records"] == 0 and stats["scored_links"] == 0
    assert (persons_by_record(con), _links(con)) == before


def test_other_settings_resolve_in_full(con):
    assert _resolve(con, match_threshold=0.6)["resolution"] == "full"
    assert _resolve(con, match_threshold=0.6)["resolution"] == "incremental"
    # an interrupted resolution leaves no valid state: the next one is full
    con.execute("DELETE FROM identity_resolution_state")
    assert _resolve(con, match_threshold=0.6)["resolution"] == "full"


def test_a_retrained_model_resolves_in_full_and_a_reused_one_with_its_frozen_term_frequencies():
    con = duckdb.connect()
    trained = {"min_records_for_training": 20}
    load(con, REFERRERS, {**CANDIDATES, "c-kat-a": KATHARINA_A, "c-kat-c": KATHARINA_C})
    assert _resolve(con, **trained)["model"] == "trained"
    assert con.execute("SELECT count(*) FROM identity_model_term_frequencies").fetchall()[0][0] > 0
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    stats = _resolve(con, **trained)
    assert (stats["model"], stats["resolution"], stats["touched_records"]) == ("reused", "incremental", 1)
    assert _equals_full(con, **trained)
    # the stored model was trained on far fewer records than there are now: it is trained again
    con.execute("UPDATE identity_model SET trained_records = 5")
    stats = _resolve(con, **trained)
    assert (stats["model"], stats["resolution"]) == ("trained", "full")


def _database_file(tmp_path):
    db = tmp_path / "bg.duckdb"
    con = duckdb.connect(str(db))
    load(con, REFERRERS, {**CANDIDATES, "c-kat-a": KATHARINA_A, "c-kat-c": KATHARINA_C})
    _resolve(con)
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    _resolve(con)
    con.close()
    return db


def _state(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [sorted(con.execute(f"SELECT * FROM {table}").fetchall()) for table in
                ("person_records", "identity_fuzzy_link_state", "identity_scored_records", "identity_resolution_state")]
    finally:
        con.close()


def test_reresolve_agrees_with_an_intact_state_and_leaves_the_file_unchanged(tmp_path, capsys):
    from bountyguard.cli import main

    db = _database_file(tmp_path)
    before = _state(db)
    assert main(["reresolve", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "(incremental, 0 records scored)" in out and "records whose person differs: 0" in out
    assert _state(db) == before


def test_reresolve_lists_the_records_an_incremental_state_got_wrong(tmp_path, capsys):
    from bountyguard.cli import main

    db = _database_file(tmp_path)
    # a lost link (as a bug in the incremental path would lose it): B no longer bridges A and C
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM identity_fuzzy_link_state WHERE 'candidate:c-kat-b' IN (unique_id_l, unique_id_r)")
    con.close()
    before = _state(db)
    assert main(["reresolve", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "records whose person differs: " in out and "records whose person differs: 0" not in out
    assert "candidate:c-kat-b" in out and "candidate:c-kat-c" in out  # (A anchors the person either way)
    assert "Vogelsang" not in out and "Katharina" not in out  # ids only, never names
    assert _state(db) == before


def test_a_resolution_interrupted_while_saving_its_state_is_followed_by_a_full_one(con, monkeypatch):
    from bountyguard import db as bgdb
    from bountyguard.identity import resolve as identity_resolve

    _add_candidate(con, "c-kat-b", KATHARINA_B)
    real = identity_resolve.run_sql_file

    def killed_before_the_new_links(con_, relative, params=None):
        if relative != "identity/fuzzy_link_state.sql":
            return real(con_, relative, params)
        for statement in bgdb._split_statements(bgdb.sql_text(relative)):
            if statement.strip().startswith("INSERT INTO identity_fuzzy_link_state"):
                raise KeyboardInterrupt("killed")
            used = {k: v for k, v in (params or {}).items() if f"${k}" in statement}
            con_.execute(statement, used or None).complete()

    monkeypatch.setattr(identity_resolve, "run_sql_file", killed_before_the_new_links)
    with pytest.raises(KeyboardInterrupt):
        _resolve(con)
    monkeypatch.setattr(identity_resolve, "run_sql_file", real)
    stats = _resolve(con)
    assert stats["resolution"] == "full"
    persons = persons_by_record(con)
    assert persons["candidate", "c-kat-a"] == persons["candidate", "c-kat-b"] == persons["candidate", "c-kat-c"]
    assert _equals_full(con)


# -- looking up keys: only the records new or changed since the last resolution ------------------------

def _stored_keys(con):
    return sorted(con.execute("SELECT * FROM identity_record_keys").fetchall())


def _fresh_keys(con):
    """The keys a resolution of the same records finds in a new database (nothing cached, nothing stored)."""
    fresh = duckdb.connect()
    for table in ("referrers", "candidates"):
        fresh.register("source", con.table(table).arrow())
        fresh.execute(f"CREATE TABLE {table} AS SELECT * FROM source")
        fresh.unregister("source")
    _resolve(fresh)
    return _stored_keys(fresh)


def test_a_daily_resolution_looks_up_only_new_and_changed_records(con):
    stats = _resolve(con)
    assert stats["looked_up_records"] == 0 and not stats["key_sweep"] and stats["normalised_values"] == 0
    con.execute("UPDATE candidates SET email = 'kathi.ries@example.net' WHERE candidate_id = 'c-kat-c'")
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    stats = _resolve(con)
    assert stats["looked_up_records"] == 2 and not stats["key_sweep"]
    assert stats["normalised_values"] >= 1  # the new mailbox
    assert _stored_keys(con) == _fresh_keys(con)
    assert _equals_full(con)


def test_a_changed_birth_date_alone_is_looked_up_again(con):
    """identity_keyed reads the birth date from the stored row, so a record whose birth date alone
    changed must not keep its old row."""
    con.execute("UPDATE candidates SET birth_date = DATE '1988-04-21' WHERE candidate_id = 'c-kat-a'")
    stats = _resolve(con)
    assert stats["looked_up_records"] == 1 and stats["normalised_values"] == 0
    assert con.execute("SELECT birth_date, birth_month_day FROM identity_record_keys WHERE record_id = 'c-kat-a'"
                       ).fetchall() == [(D(1988, 4, 21), "04-21")]
    assert con.execute("SELECT birth_date FROM person_records WHERE record_id = 'c-kat-a'").fetchall() == [
        (D(1988, 4, 21),)]
    assert _stored_keys(con) == _fresh_keys(con)
    assert _equals_full(con)


def test_keys_stored_under_an_older_layout_are_looked_up_again_whole(con):
    """A file written before identity_record_keys held every compared attribute: its rows lack them,
    so the next resolution looks every record up again (from the cache: nothing is normalised)."""
    old = ("unique_id", "birth_date", "email_year", "name_tokens", "name_key_reversed", "name_first", "name_last",
           "birth_year", "birth_month_day")
    for column in old:
        con.execute(f"ALTER TABLE identity_record_keys DROP COLUMN {column}")
    for table in ("identity_record_keys", "identity_lookup_state"):  # key version | key id | phone regions
        con.execute(f"UPDATE {table} SET lookup = array_to_string(string_split(lookup, '|')[1:3], '|')")
    stats = _resolve(con)
    assert stats["key_sweep"] and stats["normalised_values"] == 0
    assert stats["looked_up_records"] == con.execute(
        "SELECT (SELECT count(*) FROM referrers) + (SELECT count(*) FROM candidates)").fetchall()[0][0]
    assert _stored_keys(con) == _fresh_keys(con)
    assert _equals_full(con)


def test_keys_stored_by_other_sql_or_macros_are_looked_up_again_whole(con, monkeypatch):
    """The stored rows hold values computed by SQL macros (the mailbox year, the name parts): rows
    made by other ones are not read as they are."""
    from bountyguard.identity import resolve

    assert not _resolve(con)["key_sweep"]
    monkeypatch.setattr(resolve, "_MACROS", resolve._MACROS + ("CREATE OR REPLACE TEMP MACRO bg_unused(x) AS x",))
    stats = _resolve(con)
    assert stats["key_sweep"] and stats["normalised_values"] == 0
    assert not _resolve(con)["key_sweep"]


def test_an_unchanged_record_keeps_its_keys_when_a_shared_value_leaves_the_cache(con):
    """Forgetting a person removes the cached keys of their values, and a family member's unchanged
    record may hold the same phone: it keeps the key it has, as a resolution from scratch finds it."""
    con.execute("UPDATE candidates SET phone = '+49 170 1234567' WHERE candidate_id = 'c-kat-a'")
    _resolve(con)
    con.execute("DELETE FROM identity_key_hashes WHERE kind IN ('phone', 'phone_national')")
    con.execute("UPDATE referrers SET phone = NULL WHERE referrer_id = 'r-sergey'")
    stats = _resolve(con)
    assert stats["looked_up_records"] == 1  # the referrer; the candidate's keys are its own
    phone = con.execute("SELECT phone_key FROM person_records WHERE record_id = 'c-kat-a'").fetchall()
    assert phone[0][0] is not None
    assert _stored_keys(con) == _fresh_keys(con)


def test_keys_of_values_no_record_holds_leave_the_cache_at_the_next_sweep(con, monkeypatch):
    from bountyguard.identity import resolve

    monkeypatch.setattr(resolve, "_SWEEP_EVERY", 3)

    def cached_emails():
        return con.execute("SELECT count(*) FROM identity_key_hashes WHERE kind = 'email'").fetchall()[0][0]

    before = cached_emails()
    con.execute("UPDATE candidates SET email = 'kathi.ries@example.net' WHERE candidate_id = 'c-kat-c'")
    stats = _resolve(con)  # the 1st since the sweep of the first load
    assert not stats["key_sweep"] and cached_emails() == before + 1  # the old mailbox stays, for now
    assert not _resolve(con)["key_sweep"]
    stats = _resolve(con)  # the 3rd: a sweep
    assert stats["key_sweep"] and stats["looked_up_records"] == con.execute(
        "SELECT (SELECT count(*) FROM referrers) + (SELECT count(*) FROM candidates)").fetchall()[0][0]
    assert cached_emails() == before
    assert not _resolve(con)["key_sweep"]


def test_a_record_without_stored_keys_stops_the_resolution(con, monkeypatch):
    """Cannot happen by construction; if it did, the record would silently match nobody."""
    from bountyguard.errors import BountyguardError
    from bountyguard.identity import resolve

    real = resolve.run_sql_file

    def losing_a_row(con_, name, params=None):
        real(con_, name, params)
        if name == "identity/records.sql":
            con_.execute("DELETE FROM identity_lookup_records WHERE record_id = 'c-kat-a'")
            con_.execute("DELETE FROM identity_record_keys WHERE record_id = 'c-kat-a'")

    con.execute("UPDATE candidates SET email = 'kathi.ries@example.net' WHERE candidate_id = 'c-kat-c'")
    monkeypatch.setattr(resolve, "run_sql_file", losing_a_row)
    with pytest.raises(BountyguardError, match="1 record\\(s\\) without stored keys"):
        _resolve(con)


def test_persons_a_resolution_did_not_publish_are_clustered_again_in_full(con):
    from bountyguard.db import run_sql_file

    assert _resolve(con)["clustering"] == "incremental"  # nothing changed: the kept persons stand
    run_sql_file(con, "identity/fallback_persons.sql")  # a failed run's one-record persons
    stats = _resolve(con)
    assert stats["clustering"] == "full"
    assert _equals_full(con)
    # interrupted between taking the state row and putting it back
    con.execute("DELETE FROM identity_persons_state")
    assert _resolve(con)["clustering"] == "full"


def test_a_change_to_one_record_of_a_person_clusters_that_person_again_and_nobody_else(con):
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    _resolve(con)
    # C moves to B's town: C's published row changes, the links stay
    con.execute("UPDATE candidates SET city = 'Freiburg', updated_at = ? WHERE candidate_id = 'c-kat-c'", [T1])
    stats = _resolve(con)
    # C's person (A, B and C) is clustered again: without A and B, its links would reach outside
    assert stats["clustering"] == "incremental" and stats["clustered_records"] == 3
    persons = persons_by_record(con)
    assert persons["candidate", "c-kat-a"] == persons["candidate", "c-kat-b"] == persons["candidate", "c-kat-c"]
    assert _equals_full(con)


def test_exact_links_pair_again_only_the_key_groups_of_touched_records(con):
    before = _links(con)
    assert any(link[4] == "email" for link in before)
    _add_candidate(con, "c-kat-b", KATHARINA_B)
    stats = _resolve(con)
    # the new record's key group (C's mailbox) is paired again; every other exact link is kept
    assert (stats["exact"], stats["exact_touched_records"]) == ("incremental", 1)
    assert _equals_full(con)
    stats = _resolve(con)
    assert (stats["exact"], stats["exact_touched_records"]) == ("incremental", 0)
    # a record that leaves a key group takes that group's links with it
    con.execute("UPDATE candidates SET email = NULL, updated_at = ? WHERE candidate_id = 'c-kat-c'", [T1])
    assert _resolve(con)["exact_touched_records"] == 1
    assert not any({"c-kat-b", "c-kat-c"} <= {link[1], link[3]} for link in _links(con))
    assert _equals_full(con)


def test_a_key_group_growing_past_max_key_group_size_loses_the_links_of_its_untouched_members(con):
    """Three records share a family mailbox and link; a fourth makes it a placeholder that links
    nobody, the three untouched ones included."""
    family = ("Jana Lindqvist", "familie@example.org", None, D(1990, 6, 1), "Kiel", None)
    for n in range(3):
        _add_candidate(con, f"c-family-{n}", family)
    _resolve(con, max_key_group_size=3)
    assert sum({link[1], link[3]} <= {f"c-family-{n}" for n in range(3)} for link in _links(con)) >= 3
    _add_candidate(con, "c-family-3", family)
    stats = _resolve(con, max_key_group_size=3)
    assert (stats["exact"], stats["exact_touched_records"]) == ("incremental", 1)
    assert not any(link[4] == "email" and link[1].startswith("c-family") for link in _links(con))
    assert _equals_full(con, max_key_group_size=3)


def test_other_exact_link_settings_or_a_lost_state_pair_every_key_group(con):
    assert _resolve(con, max_key_group_size=40)["exact"] == "full"
    assert _resolve(con, max_key_group_size=40)["exact"] == "incremental"
    con.execute("DELETE FROM identity_exact_state")  # interrupted while saving its state
    assert _resolve(con, max_key_group_size=40)["exact"] == "full"
