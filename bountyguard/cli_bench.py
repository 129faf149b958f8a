"""The `bountyguard bench` command (bountyguard/bench.py): full load and daily runs at a given size,
per step wall time, CPU time, peak memory, the DuckDB file size after each run, and whether each
daily run decides what a full recompute of the same data decides.

The main CLI calls `register(subparsers)` to add it and `handle(args)` to run it. Exit status 0 when
every run was clean and every checked daily run equals its full recompute, 1 when one does not,
2 (BountyguardError) when a run failed or was not clean.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bountyguard.errors import BountyguardError


# the top-level commands this module adds (bountyguard/cli.py dispatches them here)
COMMANDS = ("bench",)


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("bench", help="measure a full load and D daily runs on a generated platform of N referrals")
    p.add_argument("--referrals", type=int, required=True, help="size of the generated platform (at least 1000)")
    p.add_argument("--days", type=int, default=3, help="daily runs after the full load (default 3)")
    p.add_argument("--work", type=Path, help="work folder (default: <tmp>/bg-bench-N); the generated platform "
                   "under it is reused, the runs are redone")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--check", choices=("every", "last", "none"), default="every",
                   help="compare which daily runs with a full recompute of the same data (default every)")
    p.add_argument("--json", type=Path, help="write the measurements as JSON to this file (after every step: "
                   "an interrupted bench keeps what it measured, the unfinished run under \"running\")")
    p.add_argument("--config", type=Path, help="a configuration file for the runs (default: the packaged "
                   "defaults), e.g. [identity] predict_chunks at ten million referrals")
    return p


def handle(args: argparse.Namespace) -> int:
    from bountyguard.bench import run_bench

    def save(document: dict) -> None:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            partial = args.json.with_name(args.json.name + ".part")
            partial.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
            partial.replace(args.json)  # a reader never sees half a file

    if args.config is not None and not args.config.is_file():
        print(f"bountyguard bench: --config {args.config}: no such file", file=sys.stderr)
        return 2
    try:
        document = run_bench(args.referrals, args.days, args.work, args.seed, args.check,
                             echo=lambda line: print(line, flush=True), config=args.config, save=save)
    except BountyguardError as exc:
        print(f"bountyguard bench: {exc}", file=sys.stderr)
        return exc.exit_code
    save(document)
    if args.json:
        print(f"wrote {args.json}")
    differing = [r["run_id"] for r in document["runs"] if r["equals_full"] is False]
    if differing:
        print(f"bountyguard bench: daily run(s) {', '.join(differing)} decided other than a full recompute",
              file=sys.stderr)
        return 1
    return 0
