"""Daily runs decide exactly what a full recompute of the same data decides.

A platform is screened once in full and then every day on that day's increment, into one DuckDB file
that keeps state between runs (current-state tables, identity key cache and trained model, earlier
decisions, retention). The same decisions must come out of one run, in a fresh file, over the
snapshot merged with every increment so far (a key's latest version winning, as ingest upserts).

"Identical" (bench.compare_runs): the set of (payout_id, decision, reasons) of the two runs is equal;
so are the flags (flag_id, pattern, entity type and id, person, severity, score, evidence) and every
record's person_id. Run ids and report digests differ by construction and are not compared. The
fresh file starts from the daily file's stored identity model and anomaly model: models are part of
the state, fitted on a schedule (bountyguard/identity/__init__.py, detectors/anomaly.py), so both runs
resolve and score with the same ones. The daily file rescores only the persons whose behaviour
features changed; the fresh one scores everyone, so equal flags mean the kept scores are right.

The increments are 2% of the platform a day (not the benchmark's 0.1%), so every day changes
decisions: new hires and payouts, stints that ended yesterday (early exits: voids), payouts the
platform released, re-typed phones and e-mails.
"""
import shutil

import duckdb

from bountyguard import bench, bench_platform, incremental, models, pipeline

REFERRALS = 4000
DAYS = 3


def _platform(root):
    con = duckdb.connect()
    try:
        bench_platform.build(con, root / "landing", REFERRALS, seed=5)
        for day in range(1, DAYS + 1):
            bench_platform.build_increment(con, root / "landing", bench.day_folder(root, day), REFERRALS,
                                           seed=5, share=0.02, day=day)
    finally:
        con.close()


def _screen(db, landing, as_of):
    summary = pipeline.run(landing, db, as_of)
    assert summary["status"] == "clean", summary.get("message")
    return summary["run_id"]


def _decisions(db, run_id):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT payout_id, decision, reasons FROM payout_decisions WHERE run_id = ? "
                           "ORDER BY payout_id", [run_id]).fetchall()
    finally:
        con.close()


def _key_counts(db, tables):
    """How many keys each kept table holds (a chain's key is a name: every name a stint is under)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute("SELECT count(DISTINCT name_key) FROM stint_names" if t in incremental.CHAINS else
                               f"SELECT count(DISTINCT {models.models()[t].unique_key}) FROM {t}").fetchone()[0]
                for t in tables}
    finally:
        con.close()


def _anomaly_fits(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [(e, str(d)) for e, d in con.execute(
            "SELECT entity, fitted_as_of FROM anomaly_model ORDER BY entity").fetchall()]
    finally:
        con.close()


def _recording_resolutions(monkeypatch) -> list[dict]:
    """The identity statistics of every resolution from now on (the pipeline looks resolve_persons up
    when it runs)."""
    import bountyguard.identity as identity

    resolutions, resolve = [], identity.resolve_persons

    def recorded(*args, **kwargs):
        stats = resolve(*args, **kwargs)
        resolutions.append(stats)
        return stats

    monkeypatch.setattr(identity, "resolve_persons", recorded)
    return resolutions


def _recording_feature_builds(monkeypatch) -> list[dict]:
    """How many rows of each kept feature table every incremental build rebuilt."""
    builds, build = [], incremental.build

    def recorded(*args, **kwargs):
        counts = build(*args, **kwargs)
        if counts is not None:
            builds.append(counts)
        return counts

    monkeypatch.setattr(incremental, "build", recorded)
    return builds


def _recording_anomaly_scoring(monkeypatch) -> list[dict]:
    """Per anomaly detection from now on, each population's stats (whose features it compared)."""
    from detectors.anomaly import AnomalyDetector

    detections, detect = [], AnomalyDetector.detect

    def recorded(self, *args, **kwargs):
        rows = detect(self, *args, **kwargs)
        detections.append(self.stats_)
        return rows

    monkeypatch.setattr(AnomalyDetector, "detect", recorded)
    return detections


def test_daily_runs_decide_what_a_full_recompute_of_the_same_data_decides(tmp_path, monkeypatch):
    root = tmp_path / "platform"
    _platform(root)
    resolutions = _recording_resolutions(monkeypatch)
    feature_builds = _recording_feature_builds(monkeypatch)
    anomaly = _recording_anomaly_scoring(monkeypatch)
    daily_db = tmp_path / "daily" / "bg.duckdb"
    _screen(daily_db, root / "landing", bench_platform.AS_OF)
    previous = None
    for day in range(1, DAYS + 1):
        as_of = bench_platform.increment_as_of(day)
        run_id = _screen(daily_db, bench.day_folder(root, day), as_of)
        # the daily run scored only the records touched that day, with the stored trained model
        daily = resolutions[-1]
        assert (daily["model"], daily["resolution"]) == ("reused", "incremental")
        assert 0 < daily["touched_records"] < daily["fuzzy_records"] / 5 and daily["kept_links"] > 0
        # the kept feature tables were updated in place, a small part of each
        assert len(feature_builds) == day
        sizes = _key_counts(daily_db, tuple(incremental.KEPT))
        # (a person has several rows: a day's 2% of rows touches a larger share of persons, and names)
        share = {name: 1 / 5 if name in incremental.ROWS else 1 / 2 for name in sizes}
        assert all(0 < feature_builds[-1][name] < sizes[name] * share[name] for name in sizes), \
            [(name, feature_builds[-1][name], sizes[name]) for name in sizes]
        # the anomaly score compared only the persons whose behaviour rows were rebuilt, and scored
        # some of them (the fresh file below scores everyone: equal flags mean nobody was missed)
        assert {e: (s["compared"], s["model"]) for e, s in anomaly[-1].items()} == \
            {e: ("rebuilt persons", "kept") for e in ("candidate", "referrer")}
        assert all(0 < s["scored_persons"] for s in anomaly[-1].values()), anomaly[-1]
        full_db, full_run = bench.recompute(_screen, tmp_path / f"full-{day}", root, day, as_of, daily_db)
        assert len(feature_builds) == day  # the recompute built them in full
        assert (resolutions[-1]["model"], resolutions[-1]["resolution"]) == ("reused", "full")
        assert {s["compared"] for s in anomaly[-1].values()} == {"every person"}
        comparison = bench.compare_runs(daily_db, run_id, full_db, full_run)
        assert comparison == {**comparison, "decisions_differing": 0, "flags_differing": 0,
                              "identities_differing": 0, "feature_rows_differing": 0, "equals_full": True}
        decisions = _decisions(daily_db, run_id)
        assert decisions == _decisions(full_db, full_run)
        # the anomaly flags came from the model fitted at the full load, not from a fit of the day
        assert _anomaly_fits(daily_db) == [(entity, bench_platform.AS_OF) for entity in ("candidate", "referrer")]
        # the day matters: the decisions are many, of several kinds, and not yesterday's
        assert len(decisions) > 50 and {"release", "void", "hold"} <= {d for _, d, _ in decisions}
        assert decisions != previous
        previous = decisions


def test_the_comparison_notices_a_single_differing_decision(tmp_path):
    root = tmp_path / "platform"
    _platform(root)
    db = tmp_path / "a" / "bg.duckdb"
    run_id = _screen(db, root / "landing", bench_platform.AS_OF)
    other = tmp_path / "b" / "bg.duckdb"
    other.parent.mkdir()
    shutil.copyfile(db, other)
    assert bench.compare_runs(db, run_id, other, run_id)["equals_full"] is True
    con = duckdb.connect(str(other))
    con.execute("UPDATE payout_decisions SET decision = 'hold', reasons = 'analyst_hold' WHERE payout_id = "
                "(SELECT min(payout_id) FROM payout_decisions WHERE run_id = ? AND decision = 'release')", [run_id])
    con.close()
    comparison = bench.compare_runs(db, run_id, other, run_id)
    assert comparison["equals_full"] is False and comparison["decisions_differing"] == 2  # one row each side
