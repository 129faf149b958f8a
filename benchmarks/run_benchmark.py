"""Wall time and peak memory of every pipeline step at scale: a full load, then one day's increment.

    /tmp/venv/bin/python benchmarks/run_benchmark.py --referrals 1000000 [--work /tmp/bg-bench-1m]

1. builds a landing folder of N referrals (make_platform.py) and an increment of ~0.1% new and
   changed rows dated the next day;
2. runs start_run, ingest, validate, detect, decide, publish on the full folder, each in a fresh
   `python -c` subprocess (as Airflow runs them), and records per step: wall time, user+system CPU and
   peak RSS of that process (os.wait4's rusage of exactly that child), the load average before and
   after, and an inside breakdown (import time, time per SQL file, identity resolution's phases, each
   detector) collected by wrapping the library's functions in the child (no pipeline code changes);
3. runs the same steps on the increment, into the same DuckDB file;
4. prints a table and writes benchmarks/results/<N>.json.

Every step must succeed: ingest with 0 rejects, validation passing, a clean report (otherwise the
benchmark would time a fail-closed path, not screening).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import make_platform  # noqa: E402

STEPS = ("start_run", "ingest", "validate", "detect", "decide", "publish")

# Runs in the child: times imports, wraps library functions to time their parts, calls one step,
# prints one JSON line. Only wrappers around functions: the pipeline's code is not changed.
CHILD = r'''
import json, logging, sys, time
_t0 = time.perf_counter()
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s.%(msecs)03d " + STEP + " %(name)s: %(message)s",
                    datefmt="%H:%M:%S")
logging.getLogger("splink").setLevel(logging.WARNING)
sys.path.insert(0, REPO)
import bountyguard.pipeline as pipeline
import bountyguard.identity as identity
import bountyguard.models as models
import bountyguard.validate as gate
parts = {}
def timed(owner, name, label=None):
    fn = getattr(owner, name)
    def wrapper(*a, **k):
        key = label(a, k) if callable(label) else (label or name)
        s = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            parts[key] = round(parts.get(key, 0.0) + time.perf_counter() - s, 3)
    setattr(owner, name, wrapper)
# only public names of the library: a rename fails the CI smoke run (tests/test_benchmarks.py), loudly
timed(models, "build", lambda a, k: "models:" + ",".join(a[1]))
timed(pipeline, "ingest_landing", "ingest_landing")
timed(gate, "collect_metrics", "validate:collect_metrics (SQL + frames)")
timed(gate, "run_gate", "validate:run_gate (GX)")
timed(identity, "resolve_persons", "identity:total")
if STEP == "detect":
    import detectors
    _build = detectors.build_detectors
    def build(config):
        out = []
        for d in _build(config):
            fn = d.detect
            def run(con, _fn=fn, _p=d.pattern):
                s = time.perf_counter()
                try:
                    return _fn(con)
                finally:
                    parts["detector:" + _p] = round(time.perf_counter() - s, 3)
            d.detect = run
            out.append(d)
        return out
    detectors.build_detectors = build
_t1 = time.perf_counter()
result = getattr(pipeline, STEP)(*ARGS)
_t2 = time.perf_counter()
print("\nBENCH_RESULT " + json.dumps({"import_seconds": round(_t1 - _t0, 3), "call_seconds": round(_t2 - _t1, 3),
                                    "parts": parts, "result": result}, default=str))
'''


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def run_step(python: str, step: str, args: list, log, code_dir: Path) -> dict:
    code = f"REPO = {str(code_dir)!r}\nSTEP = {step!r}\nARGS = {args!r}\n" + CHILD
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    before = loadavg()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([python, "-c", code], stdout=out, stderr=log, cwd=str(code_dir), env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        stdout = out.read()
    # DuckDB may draw a progress bar on stdout without a final newline: find the marker anywhere
    line = next((ln[ln.index("BENCH_RESULT "):] for ln in stdout.splitlines() if "BENCH_RESULT " in ln), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"step {step} failed (exit {proc.returncode}); see the log {log.name}\n{stdout[-2000:]}")
    inside = json.loads(line[len("BENCH_RESULT "):])
    return {
        "step": step,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "loadavg_before": before,
        "loadavg_after": loadavg(),
        **inside,
    }


def run_pipeline(python: str, db: Path, landing: Path, as_of: str, log, code_dir: Path) -> list[dict]:
    steps = [run_step(python, "start_run", [str(db), str(landing), as_of], log, code_dir)]
    run_id = steps[0]["result"]
    for step in STEPS[1:]:
        steps.append(run_step(python, step, [str(db), run_id], log, code_dir))
        print(f"  {step:<9} {steps[-1]['wall_seconds']:8.1f} s  {steps[-1]['peak_rss_mb']:8.0f} MB", flush=True)
    check(steps)
    return steps


def check(steps: list[dict]) -> None:
    """Fail loudly unless every row loaded, validation passed and the report is clean."""
    by = {s["step"]: s["result"] for s in steps}
    rejected = {t: v["rows_rejected"] for t, v in by["ingest"].items() if v["rows_rejected"] or v["problem"]}
    if rejected:
        raise SystemExit(f"ingest rejected rows or files: {rejected}")
    if not by["validate"]["success"]:
        raise SystemExit(f"validation failed: {by['validate'].get('message')}")
    if by["publish"]["status"] != "clean":
        raise SystemExit(f"report is {by['publish']['status']}")


def summarise(steps: list[dict]) -> dict:
    """Small per-step result for the JSON (the step functions' full returns are large)."""
    out = []
    for s in steps:
        r = s["result"]
        if s["step"] == "ingest":
            r = {t: {"rows_in": v["rows_in"], "rows_rejected": v["rows_rejected"]} for t, v in r.items()}
        elif s["step"] == "validate":
            r = {"success": r["success"], "evaluated": r.get("evaluated")}
        elif s["step"] == "publish":
            r = {"status": r["status"], "flag_counts": r["flag_counts"], "decision_counts": r["decision_counts"]}
        out.append({**s, "result": r})
    return out


def git(*a) -> str:
    return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def code_snapshot(which: str, work: Path) -> tuple[Path, dict]:
    """The pipeline code to measure. `head`: the committed HEAD exported to <work>/code, so files that
    other engineers are editing in the working tree cannot change (or break) the code mid-run.
    `worktree`: the repository as it is on disk."""
    state = {"which": which, "head": git("rev-parse", "--short", "HEAD")}
    if which == "worktree":
        state["dirty_files"] = [ln[3:] for ln in git("status", "--porcelain").splitlines()
                                if not ln[3:].startswith("benchmarks/")]
        return REPO, state
    target = work / "code"
    target.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target, state


def table(title: str, steps: list[dict]) -> str:
    lines = [title, f"{'step':<10}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>13}{'load before':>13}"]
    for s in steps:
        lines.append(f"{s['step']:<10}{s['wall_seconds']:>9.1f}{s['cpu_seconds']:>9.1f}{s['peak_rss_mb']:>13.0f}"
                     f"{s['loadavg_before'][0]:>13.2f}")
    lines.append(f"{'total':<10}{sum(s['wall_seconds'] for s in steps):>9.1f}"
                 f"{sum(s['cpu_seconds'] for s in steps):>9.1f}{max(s['peak_rss_mb'] for s in steps):>13.0f}")
    top = {}
    for s in steps:
        for k, v in s["parts"].items():
            top[f"{s['step']}/{k}"] = v
        top[f"{s['step']}/(imports)"] = s["import_seconds"]
    lines.append("largest parts: " + ", ".join(f"{k} {v:.1f}s" for k, v in sorted(top.items(), key=lambda kv: -kv[1])[:8]))
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, required=True)
    parser.add_argument("--work", type=Path, help="work folder (default /tmp/bg-bench-<N>); emptied first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--python", default=sys.executable, help="interpreter of the pipeline's venv")
    parser.add_argument("--no-increment", action="store_true")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="where <N>.json is written")
    parser.add_argument("--code", choices=("head", "worktree"), default="head",
                        help="measure the committed HEAD (default, exported under the work folder) or the working tree")
    args = parser.parse_args(argv)
    n = args.referrals
    work = args.work or Path(f"/tmp/bg-bench-{n}")
    if REPO in work.resolve().parents:
        raise SystemExit("keep the work folder outside the repository (e.g. under /tmp)")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    landing, increment, db = work / "landing", work / "increment", work / "bg.duckdb"
    log = open(work / "steps.log", "w")

    code_dir, code_state = code_snapshot(args.code, work)
    import duckdb
    result = {"referrals": n, "seed": args.seed, "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
                          "mem_total_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
              "code": code_state, "loadavg_start": loadavg()}
    print(f"N={n}: code {code_state}; generating into {work} (load {result['loadavg_start']})", flush=True)
    t = time.perf_counter()
    con = duckdb.connect()
    sizes = make_platform.build(con, landing, n, args.seed)
    result["generate_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    inc_sizes = make_platform.build_increment(con, landing, increment, n, args.seed)
    result["generate_increment_seconds"] = round(time.perf_counter() - t, 2)
    con.close()
    result["rows"], result["increment_rows"] = sizes, inc_sizes
    result["landing_mb"] = round(sum(f.stat().st_size for f in landing.iterdir()) / 2**20, 1)
    print(f"  generated in {result['generate_seconds']} s ({result['landing_mb']} MB Parquet): {sizes}", flush=True)
    print(f"  increment in {result['generate_increment_seconds']} s: {inc_sizes}", flush=True)

    print("full run (as of 2026-06-30):", flush=True)
    full = run_pipeline(args.python, db, landing, make_platform.AS_OF, log, code_dir)
    result["full"] = summarise(full)
    result["db_mb_after_full"] = round(db.stat().st_size / 2**20, 1)
    if not args.no_increment:
        print("incremental run (as of 2026-07-01):", flush=True)
        inc = run_pipeline(args.python, db, increment, make_platform.INCREMENT_AS_OF, log, code_dir)
        result["increment"] = summarise(inc)
        result["db_mb_after_increment"] = round(db.stat().st_size / 2**20, 1)
    result["loadavg_end"] = loadavg()
    result["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

    print()
    print(table(f"N = {n:,} referrals, full load", result["full"]))
    if "increment" in result:
        print()
        print(table(f"N = {n:,}: increment of {sum(inc_sizes.values()):,} rows", result["increment"]))
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{n}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
