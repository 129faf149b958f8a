"""The report's inputs digest kept between runs (bountyguard/inputs_digest.py): moved by each write of
ingest and forget, it must equal the digest read from every row (sql/features/inputs_digest.sql), day
after day; and a table written outside the pipeline must show up at the next full read, loudly."""
import logging

import duckdb

from bountyguard import bench, bench_platform, inputs_digest, models, pipeline, privacy


def _kept_and_full(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        kept = [tuple(r) for r in con.execute(
            "SELECT table_name, row_count, digest::VARCHAR FROM inputs_digest_state ORDER BY table_name").fetchall()]
        full = [tuple(r) for r in con.execute(models.query("inputs_digest")[0]).fetchall()]
        since_full = con.execute("SELECT publishes_since_full FROM inputs_digest_meta").fetchone()[0]
        return kept, full, since_full
    finally:
        con.close()


def test_the_kept_digest_equals_every_rows_after_daily_loads_and_a_forget(tmp_path):
    root = tmp_path / "platform"
    bench.prepare_platform(root, 3000, seed=3, days=3)
    db = tmp_path / "bg.duckdb"
    pipeline.run(root / "landing", db, bench_platform.AS_OF)
    kept, full, since_full = _kept_and_full(db)
    assert kept == full and since_full == 0  # the first publish reads every row
    for day in (1, 2, 3):
        if day == 2:  # forget blanks a candidate's and a referrer's rows and their referrals' clicks
            con = duckdb.connect(str(db), read_only=True)
            candidate, referrer = con.execute(
                "SELECT candidate_id, referrer_id FROM referrals ORDER BY referral_id LIMIT 1").fetchone()
            con.close()
            privacy.forget(db, "test", "erasure request", record=f"candidate:{candidate}")
            privacy.forget(db, "test", "erasure request", record=f"referrer:{referrer}")
        summary = pipeline.run(bench.day_folder(root, day), db, bench_platform.increment_as_of(day))
        assert summary["status"] == "clean"
        kept, full, since_full = _kept_and_full(db)
        assert since_full == day  # kept, not read from every row again
        assert kept == full, day
        assert [n for _, n, _ in kept] != [0] * len(kept)


def test_a_table_written_outside_the_pipeline_is_named_at_the_next_full_read(caplog):
    con = duckdb.connect()
    pipeline._ensure_schema(con)
    con.execute("INSERT INTO companies (company_id, name, country) VALUES ('C1', 'Acme', 'DE')")
    first = inputs_digest.current(con)  # read from every row, kept
    con.execute("UPDATE companies SET name = 'Acme GmbH'")  # not through ingest or forget
    with caplog.at_level(logging.ERROR, logger="bountyguard.inputs_digest"):
        seen = [inputs_digest.current(con) for _ in range(inputs_digest.FULL_EVERY)]
    assert seen[0] == first  # the kept digest, which missed the write
    assert seen[-1] != first and seen[-1] == [tuple(r) for r in con.execute(models.query("inputs_digest")[0]).fetchall()]
    assert "companies" in caplog.text and "differs" in caplog.text
