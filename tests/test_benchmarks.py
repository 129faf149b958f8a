"""Every script and benchmark of the repository runs in CI at a small size, so none rots unseen (a
renamed function breaks CI, not the next measurement): benchmarks/run_benchmark.py (and through it
`bountyguard bench`) and benchmarks/make_platform.py. No time is asserted: speed is measured by
the benchmark itself (benchmarks/README.md), never in a test."""
import json
import os
import subprocess
import sys
from pathlib import Path

from bountyguard import bench

REPO = Path(__file__).resolve().parent.parent


def test_bench_runs_a_full_load_and_daily_runs_and_checks_them_against_a_full_recompute(tmp_path):
    # through benchmarks/run_benchmark.py, the thin wrapper that runs `bountyguard bench`: both stay alive
    out = tmp_path / "results" / "bench-3000.json"
    config = tmp_path / "chunks.toml"  # the runs take a configuration file (scoring pairs in chunks here)
    config.write_text("[identity]\npredict_chunks = 2\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_benchmark.py"), "--referrals", "3000", "--days", "2",
         "--check", "last", "--work", str(tmp_path / "work"), "--results", str(out.parent), "--config", str(config)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads(out.read_text())
    assert document["config"] == str(config) and document["running"] is None
    runs = document["runs"]
    assert [(r["kind"], r["day"]) for r in runs] == [("full", 0), ("daily", 1), ("daily", 2)]
    for r in runs:
        assert r["wall_s"] > 0 and r["cpu_s"] > 0 and r["peak_rss_mb"] > 0 and r["db_bytes"] > 0
        steps = {s["step"]: s for s in r["steps"]}
        assert list(steps) == ["start_run", "ingest", "validate", "detect", "decide", "publish"]
        assert "identity:total" in steps["detect"]["parts"]  # the library's names the benchmark times still exist
        assert steps["publish"]["result"]["status"] == "clean"
    # the anomaly model is fitted at the full load and kept by the daily runs, which score fewer persons
    anomaly = [{s["step"]: s for s in r["steps"]}["detect"]["result"]["anomaly"] for r in runs]
    assert [sorted({e["model"] for e in a.values()}) for a in anomaly] == [["fitted"], ["kept"], ["kept"]]
    assert all(e["scored_persons"] < e["persons"] for a in anomaly[1:] for e in a.values()), anomaly
    assert runs[0]["equals_full"] is None and runs[1]["equals_full"] is None  # --check last: the last day only
    assert runs[2]["equals_full"] is True, runs[2]["comparison"]
    assert runs[2]["comparison"]["decisions"] > 0
    # the kept feature tables: built in full at the full load, updated in place by the daily runs,
    # equal to the recompute's
    assert [{s["step"]: s for s in r["steps"]}["detect"]["result"]["features"] for r in runs] == [
        "full", "incremental", "incremental"]
    assert runs[2]["comparison"]["feature_rows_differing"] == 0
    # a daily run rebuilt the behaviour of some persons, and the anomaly step scored only persons whose
    # features changed, so never more than were rebuilt
    rebuilt = [{s["step"]: s for s in r["steps"]}["detect"]["result"]["features_rebuilt"] for r in runs]
    assert rebuilt[0] is None
    for counts, scored in zip(rebuilt[1:], anomaly[1:]):
        assert 0 < counts["referrer_behaviour"] and 0 < counts["candidate_behaviour"], counts
        assert scored["referrer"]["scored_persons"] <= counts["referrer_behaviour"], (counts, scored)
        assert scored["candidate"]["scored_persons"] <= counts["candidate_behaviour"], (counts, scored)
    # the printed table names every run and the comparison; each step printed a line when it ended
    assert "equals full recompute: yes" in result.stdout
    assert "daily2" in result.stdout
    assert "full 0: detect done in" in result.stdout and "daily 2: publish done in" in result.stdout


def test_a_bench_stopped_inside_a_run_keeps_the_steps_it_measured(tmp_path):
    """A run that never ends (out of memory or disk, killed) still leaves its profile in --json."""
    out = tmp_path / "bench.json"
    env = {**os.environ, "BOUNTYGUARD_TEST_KILL_AT": "identity.resolved"}  # SIGKILL inside detect
    result = subprocess.run(
        [sys.executable, "-m", "bountyguard", "bench", "--referrals", "1000", "--days", "1", "--check", "none",
         "--work", str(tmp_path / "work"), "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode != 0
    document = json.loads(out.read_text())
    assert document["runs"] == []
    assert document["running"]["kind"] == "full"
    assert [s["step"] for s in document["running"]["steps"]] == ["start_run", "ingest", "validate", "detect"]
    assert all(s["wall_s"] > 0 and s["peak_rss_mb"] > 0 for s in document["running"]["steps"])
    # the step that failed says so, with what it cost until then
    assert [s.get("failed", False) for s in document["running"]["steps"]] == [False, False, False, True]
    assert "detect FAILED after" in result.stderr + result.stdout


def test_the_benchmark_scripts_still_run(tmp_path):
    """benchmarks/make_platform.py is a thin wrapper of the packaged generator."""
    landing = tmp_path / "landing"
    for argv in (["--out", str(landing)], ["--increment-of", str(landing), "--day", "2", "--out", str(tmp_path / "d2")]):
        result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_platform.py"), "--referrals", "2000", *argv],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    assert (landing / "referrals.parquet").exists() and (tmp_path / "d2" / "payouts.parquet").exists()


def test_a_bench_step_runs_the_code_the_bench_runs_whatever_the_working_folder(tmp_path, monkeypatch):
    """A bench started inside one checkout to measure another (PYTHONPATH) must not run the first
    checkout's steps: `python -c` would import a bountyguard from the working folder first."""
    decoy = tmp_path / "bountyguard"
    decoy.mkdir()
    (decoy / "__init__.py").write_text('raise SystemExit("the working folder\'s bountyguard was imported")\n')
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "log", "w") as log:
        stdout, _, _ = bench._child(sys.executable, "import bountyguard; print(bountyguard.__file__)", log, "probe")
    assert Path(stdout.strip()).resolve() == Path(bench.__file__).resolve().parent / "__init__.py"
