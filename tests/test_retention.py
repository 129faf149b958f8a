"""Bounded storage: a daily run does not add a copy of every person or flag to the DuckDB file.

Retention ([retention] in bountyguard/default_config.toml, sql/maintenance/prune_runs.sql) keeps the
flags of the newest keep_flags_runs published runs and the per-record identities of the newest
keep_identities_runs; older runs stay readable from their published folders. Payout decisions are
never pruned (an earlier clean run's void is final). File growth per daily run is measured at scale
by `bountyguard bench` (benchmarks/README.md); here it is held to a bound that a per-run copy of the
current-state tables would break.
"""
import duckdb
import pytest

from bountyguard import bench, bench_platform, pipeline
from bountyguard.db import run_sql_file
from bountyguard.errors import BountyguardError
from bountyguard.export import export_run

DAYS = 4


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retention")
    root = tmp / "platform"
    bench.prepare_platform(root, 3000, seed=2, days=DAYS)
    config = tmp / "retention.toml"
    config.write_text("[retention]\nkeep_flags_runs = 2\nkeep_identities_runs = 1\n")
    db = tmp / "runs" / "bg.duckdb"
    runs, sizes = [], []
    runs.append(pipeline.run(root / "landing", db, bench_platform.AS_OF, config)["run_id"])
    sizes.append(bench.db_bytes(db))
    for day in range(1, DAYS + 1):
        summary = pipeline.run(bench.day_folder(root, day), db, bench_platform.increment_as_of(day), config)
        assert summary["status"] == "clean"
        runs.append(summary["run_id"])
        sizes.append(bench.db_bytes(db))
    return {"db": db, "runs": runs, "sizes": sizes, "tmp": tmp}


def _count_by_run(db, table):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute(f"SELECT run_id, count(*) FROM {table} GROUP BY run_id").fetchall())
    finally:
        con.close()


def test_older_runs_flags_and_identities_leave_the_file_and_decisions_stay(screened):
    runs = screened["runs"]
    identities = _count_by_run(screened["db"], "run_identities")
    assert list(identities) == [runs[-1]] and identities[runs[-1]] > 2000  # one run's persons, not five
    con = duckdb.connect(str(screened["db"]), read_only=True)
    try:
        # kept as versions: about one per record, plus the few whose person changed since the kept run
        versions = con.execute("SELECT count(*) FROM record_person_versions").fetchone()[0]
        assert identities[runs[-1]] <= versions < 1.1 * identities[runs[-1]]
        # the kept run's identities are its persons
        assert con.execute("SELECT count(*) FROM ((SELECT record_type, record_id, person_id FROM run_identities) "
                           "EXCEPT (SELECT record_type, record_id, person_id FROM person_records))").fetchone()[0] == 0
    finally:
        con.close()
    assert set(_count_by_run(screened["db"], "flags")) == set(runs[-2:])
    assert set(_count_by_run(screened["db"], "payout_decisions")) == set(runs)


def test_a_pruned_run_is_still_exported_from_its_published_folder(screened, tmp_path):
    oldest = screened["runs"][0]
    summary = export_run(screened["db"], tmp_path / "out", run_id=oldest)
    assert summary["run_id"] == oldest
    lines = (tmp_path / "out" / "identities.csv").read_text().splitlines()
    assert lines[0] == "record_type,record_id,person_id" and len(lines) > 2000


def test_exporting_a_pruned_run_without_its_published_folder_fails_loudly(screened, tmp_path):
    import shutil

    from bountyguard.report import published_root

    db = screened["db"]
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(db, copy)  # no published folder beside the copy
    with pytest.raises(BountyguardError, match="older than the retention"):
        export_run(copy, tmp_path / "out", run_id=screened["runs"][0])
    assert (published_root(db) / screened["runs"][0]).is_dir()


def test_the_file_grows_by_a_bounded_amount_per_daily_run(screened):
    """The first daily run may double the replaced working tables once (DuckDB reuses freed blocks
    only after a checkpoint); from then on a day adds the day's rows, its decisions and flags. A
    copy of the current-state tables per run would add a sizeable part of the full load's file."""
    sizes = screened["sizes"]
    full = sizes[0]
    growth = [b - a for a, b in zip(sizes[1:], sizes[2:])]
    # DuckDB allocates 256 KiB blocks, 1.3% of this small file each: a table updated in place
    # (stints, referral_facts, record_person_versions) may take a block more one day and give it back
    # the next (measured: +10, -9, +5 blocks; +9, -8, +4 with a copy of every person per run instead
    # of versions), so three blocks of slack
    assert all(g <= 0.1 * full + 3 * 262144 for g in growth), (full, growth)


def test_an_older_file_gets_its_keyed_tables_rebuilt_without_the_keys_and_keeps_every_row(tmp_path):
    """identity_key_hashes lost its primary key (its index made caching a first load's keys three
    times as long at one million referrals): a file from before is rebuilt once, rows kept."""
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE identity_key_hashes (version INTEGER NOT NULL, key_id VARCHAR NOT NULL, "
                "kind VARCHAR NOT NULL, raw_hash VARCHAR NOT NULL, context VARCHAR NOT NULL, key VARCHAR, "
                "PRIMARY KEY (version, key_id, kind, raw_hash, context))")
    con.execute("INSERT INTO identity_key_hashes VALUES (2, 'k1', 'name', 'h1', '', 'anna berg'), "
                "(2, 'k1', 'city', 'h2', '', 'berlin'), (2, 'k1', 'email', 'h3', '', NULL)")
    pipeline._ensure_schema(con)
    pipeline._ensure_schema(con)  # once is enough: the second finds nothing to do
    constraints = {c for (c,) in con.execute(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'identity_key_hashes'").fetchall()}
    assert constraints == {"NOT NULL"}
    assert con.execute("SELECT count(*) FROM identity_key_hashes").fetchone()[0] == 3
    assert "identity_key_hashes_keyed" not in {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()


def _identities(con) -> list[tuple]:
    return con.execute("SELECT run_id, record_type, record_id, person_id FROM run_identities ORDER BY ALL").fetchall()


def test_an_older_files_copy_of_every_record_per_run_becomes_versions_with_the_same_identities(tmp_path):
    """run_identities held a copy of every record per run (with a primary key, in older files still):
    a file from before gets each run's persons as versions, once, and reads the same identities."""
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE run_identities (run_id VARCHAR NOT NULL, record_type VARCHAR NOT NULL, "
                "record_id VARCHAR NOT NULL, person_id VARCHAR NOT NULL, "
                "PRIMARY KEY (run_id, record_type, record_id))")
    copies = [("20260630-001", "candidate", "K1", "P1"), ("20260630-001", "referrer", "R1", "P1"),
              ("20260630-001", "referrer", "R2", "P2"),
              # the next run: K1 became another person, R2 is gone, R3 is new, R1 is as it was
              ("20260701-001", "candidate", "K1", "P9"), ("20260701-001", "referrer", "R1", "P1"),
              ("20260701-001", "referrer", "R3", "P3")]
    con.executemany("INSERT INTO run_identities VALUES (?, ?, ?, ?)", copies)
    pipeline._ensure_schema(con)
    pipeline._ensure_schema(con)  # once is enough: the second finds a view
    assert _identities(con) == sorted(copies)
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'run_identities'"
                       ).fetchone()[0] == "VIEW"
    # R1 kept its one version: four versions of five records, not six copies
    assert con.execute("SELECT count(*) FROM record_person_versions").fetchone()[0] == 5
    con.close()


def test_each_run_records_only_the_changes_and_reads_back_the_persons_it_had(tmp_path):
    """A run's identities are the next generation of versions: records whose person changed or which
    are gone end their version, new ones get one; earlier runs read back exactly what they recorded,
    a run recorded again reads its new persons, and retention drops what no kept run sees."""
    con = duckdb.connect(str(tmp_path / "bg.duckdb"))
    pipeline._ensure_schema(con)
    con.execute("CREATE TABLE person_records (record_type VARCHAR, record_id VARCHAR, person_id VARCHAR)")
    days = {
        "20260630-001": [("referrer", "R1", "P1"), ("referrer", "R2", "P2"), ("candidate", "K1", "P1")],
        "20260701-001": [("referrer", "R1", "P1"), ("referrer", "R2", "P1"), ("candidate", "K1", "P1"),
                         ("candidate", "K2", "P5")],
        "20260702-001": [("referrer", "R1", "P1"), ("referrer", "R2", "P2"), ("candidate", "K2", "P5")],
    }
    for run_id, persons in days.items():
        con.execute("DELETE FROM person_records")
        con.executemany("INSERT INTO person_records VALUES (?, ?, ?)", persons)
        pipeline._record_identities(con, run_id)
    assert _identities(con) == sorted((run, *p) for run, persons in days.items() for p in persons)
    # 3 records, then R2 moved and K2 came, then R2 moved back and K1 left: 3 + 2 + 1 versions
    assert con.execute("SELECT count(*) FROM record_person_versions").fetchone()[0] == 6
    # the last run's detect step again, on other persons: it reads them, the others are unchanged
    con.execute("UPDATE person_records SET person_id = 'P7' WHERE record_id = 'K2'")
    pipeline._record_identities(con, "20260702-001")
    days["20260702-001"] = [("referrer", "R1", "P1"), ("referrer", "R2", "P2"), ("candidate", "K2", "P7")]
    assert _identities(con) == sorted((run, *p) for run, persons in days.items() for p in persons)
    # retention keeping the identities of the run publishing now only: the versions it does not see
    # leave the file
    con.execute("CREATE TEMP TABLE runs AS SELECT run_id, 'published' AS step FROM (VALUES ('20260630-001'), "
                "('20260701-001'), ('20260702-001')) t(run_id)")
    run_sql_file(con, "maintenance/prune_runs.sql",
                 {"run_id": "20260702-001", "keep_flags_runs": 5, "keep_identities_runs": 1})
    assert _identities(con) == sorted(("20260702-001", *p) for p in days["20260702-001"])
    assert con.execute("SELECT count(*) FROM record_person_versions").fetchone()[0] == 3
    con.close()
