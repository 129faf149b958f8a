"""The `bountyguard runs ...` command group: run metrics for ops engineers (bountyguard/run_metrics.py).

The main CLI calls `register(subparsers)` and `handle(args)`. Output is counts, money and times only.
The DuckDB file is opened read-only, so this waits (then fails with a clear message) while a
screening run is writing it.
"""
from __future__ import annotations

import argparse
import json
import sys

from bountyguard import run_metrics
from bountyguard.db import connect
from bountyguard.errors import BountyguardError


# the top-level commands this module adds (bountyguard/cli.py dispatches them here)
COMMANDS = ("runs",)


def register(subparsers) -> argparse.ArgumentParser:
    group = subparsers.add_parser("runs", help="screening runs and their metrics (rows, flags, decisions, money, time)")
    commands = group.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="the newest runs, one line each")
    listing.add_argument("--db", required=True)
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show = commands.add_parser("show", help="every metric of one run")
    show.add_argument("run_id", metavar="RUN")
    show.add_argument("--db", required=True)
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    return group


def handle(args: argparse.Namespace) -> int:
    try:
        return _COMMANDS[args.runs_command](args)
    except BountyguardError as exc:
        print(f"bountyguard runs {args.runs_command}: {exc}", file=sys.stderr)
        return exc.exit_code


def _open(db):
    from pathlib import Path

    if not Path(db).is_file():
        raise BountyguardError(f"--db {db}: no such DuckDB file")
    con = connect(db, read_only=True)
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'run_metrics'").fetchone()[0]:
        con.close()
        raise BountyguardError(f"--db {db}: no run has recorded metrics in this file yet")
    return con


def _money(values: dict) -> str:
    return ", ".join(f"{v:,.2f} {c}" for c, v in sorted(values.items())) or "0"


def _list(args) -> int:
    con = _open(args.db)
    try:
        runs = run_metrics.runs_overview(con, args.limit)
    finally:
        con.close()
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    print(f"{'run':<14} {'as of':<10} {'status':<10} {'seconds':>8} {'peak MB':>8} {'rejected':>8} "
          f"{'quarant.':>8} {'flags':>6} {'release':>7} {'hold':>6} {'void':>6} {'clawback':>8}  released / held")
    for r in runs:
        d = r["decisions"]
        print(f"{r['run_id']:<14} {r['as_of']:<10} {r['status']:<10} {r['seconds']:>8.1f} {r['peak_memory_mb']:>8.0f} "
              f"{r['rows_rejected']:>8} {r['rows_quarantined']:>8} {r['flags']:>6} {d.get('release', 0):>7} "
              f"{d.get('hold', 0):>6} {d.get('void', 0):>6} {d.get('clawback', 0):>8}  "
              f"{_money(r['money_released'])} / {_money(r['money_held'])}")
    if not runs:
        print("(no runs)")
    return 0


def _show(args) -> int:
    con = _open(args.db)
    try:
        row = con.execute("SELECT as_of, step, status, started_at, finished_at FROM runs WHERE run_id = ?",
                          [args.run_id]).fetchone()
        if row is None:
            raise BountyguardError(f"run {args.run_id!r} is not in {args.db}")
        metrics = run_metrics.read(con, args.run_id)
    finally:
        con.close()
    as_of, step, status, started, finished = row
    if args.json:
        print(json.dumps({"run_id": args.run_id, "as_of": as_of.isoformat(), "status": status, "step": step,
                          "metrics": metrics}, indent=2))
        return 0
    print(f"run {args.run_id}: as of {as_of}, report {status or 'not published'} (last step {step}), "
          f"started {started:%Y-%m-%d %H:%M:%S}" + (f", finished {finished:%H:%M:%S}" if finished else ""))
    tables = sorted(metrics.get("rows_in", {}))
    if tables:
        print(f"  {'table':<13} {'in':>9} {'loaded':>9} {'rejected':>9} {'quarantined':>11}")
        for t in tables:
            print(f"  {t:<13} {metrics['rows_in'][t]:>9} {metrics.get('rows_loaded', {}).get(t, 0):>9} "
                  f"{metrics.get('rows_rejected', {}).get(t, 0):>9} {metrics.get('rows_quarantined', {}).get(t, 0):>11}")
    if "validation_success" in metrics:
        ok = metrics["validation_success"]["all"] == 1
        print(f"  validation: {'passed' if ok else 'FAILED'} "
              f"({metrics.get('validation_failed_checks', {}).get('all', 0)} failed checks)")
    flags = metrics.get("flags", {})
    print("  flags: " + (", ".join(f"{p} {n}" for p, n in sorted(flags.items())) or "none"))
    print("  decisions: " + (", ".join(f"{d} {n}" for d, n in sorted(metrics.get("decisions", {}).items())) or "none"))
    for name, label in (("money_released", "released"), ("money_held", "held"), ("money_clawed_back", "clawed back")):
        print(f"  money {label}: {_money(metrics.get(name, {}))}")
    steps = metrics.get("step_seconds", {})
    if steps:
        print(f"  {'step':<10} {'seconds':>8} {'peak MB':>8}")
        for s in ("pull", "ingest", "validate", "detect", "decide", "publish"):
            if s in steps:
                print(f"  {s:<10} {steps[s]:>8.1f} {metrics.get('step_peak_memory_mb', {}).get(s, 0):>8.0f}")
    return 0


_COMMANDS = {"list": _list, "show": _show}
