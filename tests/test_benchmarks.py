"""Every script and benchmark of the repository runs in CI at a small size, so none rots unseen (a
renamed function breaks CI, not the next measurement). No time is asserted: speed is measured by
the benchmark itself (benchmarks/README.md), never in a test."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_scale_benchmark_runs_a_full_load_and_a_daily_increment(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_benchmark.py"), "--referrals", "3000", "--code", "worktree",
         "--work", str(tmp_path / "work"), "--results", str(tmp_path / "results")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    measured = json.loads((tmp_path / "results" / "3000.json").read_text())
    for run in ("full", "increment"):
        steps = {s["step"]: s for s in measured[run]}
        assert {"ingest", "validate", "detect", "decide", "publish"} <= set(steps)
        assert "identity:total" in steps["detect"]["parts"]  # the library's names the benchmark times still exist
        assert steps["publish"]["result"]["status"] == "clean"
