"""A run's flags are stored as versions (bountyguard/flag_versions.py): a run writes the flags that
changed, and every kept run reads back exactly the flags it had."""
import hashlib

import duckdb
import pytest

from bountyguard import flag_versions, pipeline
from bountyguard.db import run_sql_file

COLUMNS = "entity_type, entity_id, person_id, score, severity, evidence"


@pytest.fixture()
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "bg.duckdb"))
    pipeline._ensure_schema(con)
    yield con
    con.close()


def _detected(con, *flags):
    """What a detector's run leaves for flag_versions.store: the temp table detected_flags."""
    con.execute("CREATE OR REPLACE TEMP TABLE detected_flags (entity_type VARCHAR, entity_id VARCHAR, "
                "person_id VARCHAR, score DOUBLE, severity VARCHAR, evidence VARCHAR)")
    if flags:
        con.executemany("INSERT INTO detected_flags VALUES (?, ?, ?, ?, ?, ?)", list(flags))


def _flags(con, run_id, pattern=None):
    return sorted(con.execute(f"SELECT pattern, {COLUMNS} FROM flags WHERE run_id = ? "
                              "AND (? IS NULL OR pattern = ?)", [run_id, pattern, pattern]).fetchall())


def _exit(hire, person, score=0.5, evidence="{}"):
    return ("hire", hire, person, score, "medium", evidence)


def test_each_run_stores_only_the_changed_flags_and_every_run_reads_back_its_own(con):
    day1 = [_exit("H1", "P1"), _exit("H2", "P2"), _exit("H3", "P3")]
    g1 = flag_versions.open_generation(con, "run1")
    _detected(con, *day1)
    assert flag_versions.store(con, g1, "early_exit") == 3
    # the next day: H2's evidence changed, H3 is gone, H4 is new, H1 is as it was
    day2 = [_exit("H1", "P1"), _exit("H2", "P2", evidence='{"days": 3}'), _exit("H4", "P4")]
    g2 = flag_versions.open_generation(con, "run2")
    _detected(con, *day2)
    assert flag_versions.store(con, g2, "early_exit") == 3
    assert _flags(con, "run1") == sorted(("early_exit", *f) for f in day1)
    assert _flags(con, "run2") == sorted(("early_exit", *f) for f in day2)
    # H1 kept its one version: five versions for six flags of two runs
    assert con.execute("SELECT count(*) FROM flag_versions").fetchone()[0] == 5
    # the flag ids are the pattern's and the entity's, as before
    assert con.execute("SELECT DISTINCT flag_id FROM flags WHERE entity_id = 'H1'").fetchall() == \
        con.execute("SELECT 'F' || left(md5('early_exit|hire|H1'), 16)").fetchall()


def test_a_rule_computed_on_its_scope_changes_only_the_flags_of_those_keys(con):
    g1 = flag_versions.open_generation(con, "run1")
    _detected(con, _exit("H1", "P1"), _exit("H2", "P2"), ("hire", "H3", None, 0.5, "medium", "{}"))
    flag_versions.store(con, g1, "early_exit")
    # the day rebuilt H2 (its flag is gone) and H5 (newly flagged); H1 stays current; H3's flag has no
    # key of the scope's column (person_id), so it is never kept without being made again
    con.execute("CREATE TEMP TABLE rebuilt AS SELECT unnest(['P2', 'P5']) AS person_id")
    g2 = flag_versions.open_generation(con, "run2")
    _detected(con, _exit("H5", "P5"))
    assert flag_versions.store(con, g2, "early_exit", ("rebuilt", "person_id", "person_id")) == 2
    assert [f[2] for f in _flags(con, "run2")] == ["H1", "H5"]
    assert [f[2] for f in _flags(con, "run1")] == ["H1", "H2", "H3"]


def test_a_flag_id_twice_in_one_run_fails_and_stores_nothing_of_the_pattern(con):
    g1 = flag_versions.open_generation(con, "run1")
    _detected(con, _exit("H1", "P1"))
    flag_versions.store(con, g1, "early_exit")
    g2 = flag_versions.open_generation(con, "run2")
    _detected(con, _exit("H1", "P1"), _exit("H1", "P9"))  # one hire, two flags
    with pytest.raises(ValueError, match="twice in one run"):
        flag_versions.store(con, g2, "early_exit")
    assert _flags(con, "run2") == _flags(con, "run1")  # the run still reads the versions before it


def test_a_pattern_no_detector_made_ends_and_a_run_without_flags_reads_none(con):
    g1 = flag_versions.open_generation(con, "run1")
    for pattern in ("early_exit", "retired_rule"):
        _detected(con, _exit("H1", "P1"))
        flag_versions.store(con, g1, pattern)
    flag_versions.close(con, g1, ["early_exit", "retired_rule"])
    g2 = flag_versions.open_generation(con, "run2")
    _detected(con, _exit("H1", "P1"))
    flag_versions.store(con, g2, "early_exit")
    flag_versions.close(con, g2, ["early_exit"])
    assert {f[0] for f in _flags(con, "run2")} == {"early_exit"}
    assert {f[0] for f in _flags(con, "run1")} == {"early_exit", "retired_rule"}
    flag_versions.drop_run(con, "run2")  # its detectors could not run on its data
    assert _flags(con, "run2") == []


def test_a_detect_step_run_again_reads_its_new_flags_and_retention_drops_what_no_kept_run_sees(con):
    for run_id, hires in (("20260630-001", ["H1", "H2"]), ("20260701-001", ["H2", "H3"]),
                          ("20260702-001", ["H3"]), ("20260702-001", ["H3", "H4"])):  # the last run again
        generation = flag_versions.open_generation(con, run_id)
        _detected(con, *(_exit(h, "P" + h) for h in hires))
        flag_versions.store(con, generation, "early_exit")
    assert [f[2] for f in _flags(con, "20260702-001")] == ["H3", "H4"]
    assert [f[2] for f in _flags(con, "20260630-001")] == ["H1", "H2"]
    con.execute("CREATE TEMP TABLE runs AS SELECT run_id, 'published' AS step FROM (VALUES ('20260630-001'), "
                "('20260701-001'), ('20260702-001')) t(run_id)")
    run_sql_file(con, "maintenance/prune_runs.sql",
                 {"run_id": "20260702-001", "keep_flags_runs": 1, "keep_identities_runs": 5})
    assert [f[2] for f in _flags(con, "20260702-001")] == ["H3", "H4"]
    assert con.execute("SELECT count(DISTINCT run_id) FROM flags").fetchone()[0] == 1
    assert sorted(e for (e,) in con.execute("SELECT entity_id FROM flag_versions").fetchall()) == ["H3", "H4"]


def test_an_older_files_copy_of_every_flag_per_run_becomes_versions_with_the_same_flags(tmp_path):
    """flags held a copy of every flag per run (with a primary key): a file from before gets each
    run's flags as versions, once, and reads the same flags, ids included. A file from before
    run_identities became versions too is converted in the same step."""
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE flags (run_id VARCHAR NOT NULL, flag_id VARCHAR NOT NULL, pattern VARCHAR NOT NULL, "
                "entity_type VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, person_id VARCHAR, score DOUBLE NOT NULL, "
                "severity VARCHAR NOT NULL, evidence VARCHAR NOT NULL, PRIMARY KEY (run_id, flag_id))")
    con.execute("CREATE TABLE run_identities (run_id VARCHAR NOT NULL, record_type VARCHAR NOT NULL, "
                "record_id VARCHAR NOT NULL, person_id VARCHAR NOT NULL, PRIMARY KEY (run_id, record_type, record_id))")
    fa = "F" + hashlib.md5(b"early_exit|hire|H1").hexdigest()[:16]  # as every version computed it
    copies = [("20260630-001", fa, "early_exit", "hire", "H1", "P1", 0.5, "medium", "{}"),
              ("20260630-001", "FB", "anomaly", "referrer", "R1", "P2", 0.97, "low", '{"rank": 1}'),
              # the next run: H1's flag as it was, R1's ranked second, a new one
              ("20260701-001", fa, "early_exit", "hire", "H1", "P1", 0.5, "medium", "{}"),
              ("20260701-001", "FB", "anomaly", "referrer", "R1", "P2", 0.97, "low", '{"rank": 2}'),
              ("20260701-001", "FC", "anomaly", "referrer", "R7", None, 0.99, "low", '{"rank": 1}'),
              # a later run: H1's flag only
              ("20260703-001", fa, "early_exit", "hire", "H1", "P1", 0.5, "medium", "{}")]
    con.executemany("INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", copies)
    con.execute("INSERT INTO run_identities VALUES ('20260630-001', 'referrer', 'R1', 'P2')")
    pipeline._ensure_schema(con)
    pipeline._ensure_schema(con)  # once is enough: the second finds views
    assert sorted(con.execute("SELECT * FROM flags").fetchall(), key=str) == sorted(copies, key=str)
    assert con.execute("SELECT * FROM run_identities").fetchall() == [("20260630-001", "referrer", "R1", "P2")]
    assert {t: k for t, k in con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                         "WHERE table_name IN ('flags', 'run_identities')").fetchall()} == \
        {"flags": "VIEW", "run_identities": "VIEW"}
    # FA kept one version over three runs: four versions of six copies
    assert con.execute("SELECT count(*) FROM flag_versions").fetchone()[0] == 4
    # and the next run builds on the last one's
    generation = flag_versions.open_generation(con, "20260704-001")
    _detected(con, ("hire", "H1", "P1", 0.5, "medium", "{}"))
    assert flag_versions.store(con, generation, "early_exit") == 1
    assert con.execute("SELECT count(*) FROM flag_versions").fetchone()[0] == 4
    con.close()


def test_going_back_to_flags_as_copies_and_forward_again_keeps_every_run_s_flags(con):
    """sql/maintenance/flags_as_copies.sql, for a rollback to a version that inserts copies: it leaves
    a table that such a version writes as it always did, and this version converts it again."""
    from bountyguard.db import sql_text

    for run_id, hires in (("run1", ["H1", "H2"]), ("run2", ["H2", "H3"])):
        generation = flag_versions.open_generation(con, run_id)
        _detected(con, *(_exit(h, "P" + h) for h in hires))
        flag_versions.store(con, generation, "early_exit")
    before = con.execute("SELECT * FROM flags ORDER BY ALL").fetchall()
    con.execute(sql_text("maintenance/flags_as_copies.sql"))
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'flags'"
                       ).fetchone()[0] == "BASE TABLE"
    # what an earlier version's detect step does with it
    con.execute("DELETE FROM flags WHERE run_id = 'run3'")
    con.execute("INSERT INTO flags SELECT 'run3', flag_id, pattern, entity_type, entity_id, person_id, score, "
                "severity, evidence FROM flags WHERE run_id = 'run2'")
    pipeline._ensure_schema(con)
    after = con.execute("SELECT * FROM flags ORDER BY ALL").fetchall()
    assert after == sorted(before + [("run3", *row[1:]) for row in before if row[0] == "run2"])
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'flags'"
                       ).fetchone()[0] == "VIEW"
