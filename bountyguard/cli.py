"""bountyguard's command line (the contract's `run`, `export`, `payouts release`, and the tools
around them). Errors print one clear message, never a traceback (set BOUNTYGUARD_DEBUG=1 for one)."""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import os
import sys
import traceback
from pathlib import Path

from bountyguard.errors import BountyguardError

EXIT_CLEAN = 0
EXIT_NOT_CLEAN = 3
EXIT_FAILED = 4
WORLDS = ("own", "field")
# Command groups in modules of their own: each has register(subparsers), handle(args) and COMMANDS,
# the top-level commands it adds; imported only when the parser is built.
COMMAND_GROUPS = ("bountyguard.cli_payouts", "bountyguard.review.cli", "bountyguard.cli_runs",
                  "bountyguard.cli_bench", "bountyguard.cli_identity")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bountyguard", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="load, validate, detect, decide and publish a report")
    origin = p.add_mutually_exclusive_group(required=True)
    origin.add_argument("--landing", type=Path, help="landing folder with <table>.csv|parquet")
    origin.add_argument("--source", help="the platform's PostgreSQL database as a connection URI "
                        "(postgresql://user:password@host:port/db): pulls the rows changed since the last run")
    p.add_argument("--db", required=True, type=Path, help="the DuckDB file (created if missing)")
    p.add_argument("--as-of", required=True, type=_date, help="the run's as-of date, YYYY-MM-DD")
    p.add_argument("--config", type=Path, help="a TOML file overriding bountyguard/default_config.toml")

    p = sub.add_parser("export", help="write report.json, flags.csv, payout_decisions.csv, identities.csv, ledger.csv")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--run-id", help="a run other than the newest")

    p = sub.add_parser("generate", help="write a labelled synthetic landing folder (demo, test and evaluation data)")
    p.add_argument("--out", required=True, type=Path, help="writes OUT/landing/ and OUT/truth/")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--as-of", type=_date, default=dt.date(2026, 6, 30))
    p.add_argument("--rule-free-abuse", action="store_true",
                   help="add referrers whose abuse no rule targets (for the anomaly evaluation; own world only)")
    p.add_argument("--world", choices=WORLDS, default="own",
                   help="own: bountyguard's generator; field: the independent world (bountyguard/evaluation/fieldworld), "
                        "written by someone who never read the detectors")

    p = sub.add_parser("evaluate", help="score a run against ground truth (per pattern, payouts, identities, money)")
    p.add_argument("--db", type=Path, help="the DuckDB file of the run to score (its published report is read)")
    p.add_argument("--run-id", help="a run other than the newest published one")
    p.add_argument("--truth", type=Path, help="the truth folder (OUT/truth of `generate`)")
    p.add_argument("--landing", type=Path, help="the run's landing folder (default: beside --truth)")
    p.add_argument("--seeds", help="instead of --db: generate, run and score these seeds, e.g. 7,8,9")
    p.add_argument("--scale", type=float, default=1.0, help="with --seeds: the generator's scale")
    p.add_argument("--as-of", type=_date, default=dt.date(2026, 6, 30), help="with --seeds: the as-of date")
    p.add_argument("--work", type=Path, default=Path("var/evaluate"), help="with --seeds: where to put data and runs")
    p.add_argument("--config", type=Path, help="with --seeds: a configuration to evaluate")
    p.add_argument("--sweep", help="score each value of one setting, e.g. velocity_spike.min_ratio_to_own_history=2,4,8")
    p.add_argument("--plot", type=Path, help="with --sweep: write the trade-off as a PNG")
    p.add_argument("--world", choices=(*WORLDS, "both"), default="own",
                   help="with --seeds: which generated world(s) to score (field: the independent one)")
    p.add_argument("--febrl", action="store_true",
                   help="also measure identity resolution on the public FEBRL sets 1, 2 and 4 (../shared/data/febrl)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")

    sub.add_parser("models", help="print the graph of SQL models: build order, storage, inputs, consumers")

    forget = sub.add_parser("forget", help="erase a person's personal data; decisions, amounts and audit remain")
    forget.add_argument("--db", required=True)
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", help="a person_id of identities.csv: every record of that person")
    who.add_argument("--record", help="one record: referrer:ID or candidate:ID")
    forget.add_argument("--by", required=True, help="who erases (kept in forgotten_records)")
    forget.add_argument("--reason", required=True, help="why, e.g. the erasure request's reference")

    for module in COMMAND_GROUPS:
        importlib.import_module(module).register(sub)
    return parser


def _print_run_summary(summary: dict) -> None:
    print(f"run {summary['run_id']}: report {summary['status']}")
    for table, t in summary["tables"].items():
        line = (f"  {table:<13} {t['rows_in']:>9} in {t['rows_loaded']:>9} loaded {t['rows_rejected']:>7} rejected"
                f" {t.get('rows_quarantined', 0):>7} quarantined")
        print(line + (f"  PROBLEM: {t['problem']}" if t.get("problem") else ""))
    rejects = summary.get("rejects_sample") or []
    if rejects:
        print(f"  rejected rows (first {len(rejects)}; all of them are in the DuckDB table `rejects`):")
        for r in rejects[:10]:
            column = f", column {r['column']}" if r["column"] else ""
            print(f"    {r['file']}: line {r['line']}{column}: {r['reason']}")
        if len(rejects) > 10:
            print(f"    … and more in report.json (rejects_sample) and the `rejects` table")
    quarantined = summary.get("quarantine_sample") or []
    if quarantined:
        print(f"  quarantined rows (first {len(quarantined)}; all of them are in the DuckDB table `quarantine`; "
              "their payouts are held with data_inconsistent):")
        for q in quarantined[:10]:
            print(f"    {q['table']} {q['key']}: {q['check']}")
    v = summary["validation"]
    print(f"  validation: {'passed' if v['success'] else 'FAILED'} ({v.get('evaluated', 0)} checks, {v.get('failed', 0)} failed)")
    flags = ", ".join(f"{k} {n}" for k, n in summary["flag_counts"].items() if n) or "none"
    print(f"  flags: {flags}")
    print("  decisions: " + ", ".join(f"{k} {n}" for k, n in summary["decision_counts"].items()))
    print(f"  report: {summary['report_path']}")
    print(f"  report_sha256: {summary['report_sha256']}")


def _run(args) -> int:
    from bountyguard import pipeline

    summary = pipeline.run(args.landing, args.db, args.as_of, args.config, source=args.source)
    _print_run_summary(summary)
    if summary["status"] == "clean":
        return EXIT_CLEAN
    print(summary.get("message", "the data failed validation"), file=sys.stderr)
    print("every due payout is held; fix the data and run again", file=sys.stderr)
    return EXIT_NOT_CLEAN


def _export(args) -> int:
    from bountyguard.export import export_run

    result = export_run(args.db, args.out, args.run_id)
    print(f"exported run {result['run_id']} (report {result['status']}) to {result['out']}: "
          + ", ".join(result["files"]))
    return 0


def _generate_world(world: str, out: Path, seed: int, scale: float, as_of: dt.date,
                    rule_free_abuse: bool = False) -> dict:
    if world == "field":
        if rule_free_abuse:
            raise BountyguardError("generate --rule-free-abuse: only the own world has rule-free abusers")
        from bountyguard.evaluation.fieldworld import generate as generate_field

        return generate_field(out, seed=seed, scale=scale, as_of=as_of)
    from bountyguard.evaluation.generator import generate

    return generate(out, seed=seed, scale=scale, as_of=as_of, rule_free_abuse=rule_free_abuse)


def _generate(args) -> int:
    summary = _generate_world(args.world, args.out, args.seed, args.scale, args.as_of, args.rule_free_abuse)
    print(f"wrote {args.out / 'landing'} and {args.out / 'truth'} ({args.world} world, seed {args.seed}, "
          f"scale {args.scale}, as of {args.as_of})")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    return 0


def _models(args) -> int:
    from bountyguard.models import describe

    print(describe())
    return 0


def _configure_logging(verbose: bool) -> None:
    """Our own steps at INFO with -v; other libraries only when they warn (their INFO chatter can
    carry values from the data), and Splink only on errors (its training warnings are expected on
    small or clean data and say nothing an operator can act on)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        lambda r: (r.levelno >= logging.WARNING and not r.name.startswith("splink"))
        or r.levelno >= logging.ERROR
        or (verbose and r.name.startswith(("bountyguard", "detectors")))
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _evaluate(args) -> int:
    import json

    from bountyguard import pipeline
    from bountyguard.config import parse_setting
    from bountyguard.evaluation.baseline import baseline_run
    from bountyguard.evaluation.scores import evaluate, format_comparison, format_scores, format_sweep, plot_sweep, sweep
    from bountyguard.report import latest_published, published_root

    datasets = []  # (landing, truth)
    if args.seeds:
        worlds = WORLDS if args.world == "both" else (args.world,)
        for world in worlds:
            for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
                folder = args.work / f"{world}-seed{seed}"
                _generate_world(world, folder, seed, args.scale, args.as_of)
                datasets.append((folder / "landing", folder / "truth"))
    elif args.truth:
        datasets.append((args.landing or args.truth.parent / "landing", args.truth))
    if args.sweep:
        if not datasets:
            raise BountyguardError("evaluate --sweep: give --seeds, or --truth (with its landing folder)")
        section, key, values = parse_setting(args.sweep)
        args.work.mkdir(parents=True, exist_ok=True)
        rows = sweep(datasets, args.work, args.as_of, args.config, section, key, values)
        print(json.dumps(rows, indent=2) if args.json else format_sweep(rows))
        if args.plot:
            print(f"plot: {plot_sweep(rows, args.plot)}")
        return 0
    results, baselines = [], []
    if args.seeds:
        for landing, truth in datasets:
            db = landing.parent / "bountyguard.duckdb"
            for stale in (db, db.with_suffix(".duckdb.wal")):
                stale.unlink(missing_ok=True)
            summary = pipeline.run(landing, db, args.as_of, args.config)
            results.append(evaluate(Path(summary["published_dir"]), truth, landing))
            baselines.append(evaluate(baseline_run(landing, args.as_of, landing.parent / "baseline"), truth, landing))
    else:
        if not (args.db and args.truth):
            raise BountyguardError("evaluate: give --db and --truth (a run to score), or --seeds")
        run_dir = published_root(args.db) / args.run_id if args.run_id else latest_published(args.db)
        if run_dir is None or not run_dir.is_dir():
            raise BountyguardError(f"{args.db}: no published run to evaluate")
        landing, truth = datasets[0]
        results.append(evaluate(run_dir, truth, landing))
        as_of = dt.date.fromisoformat(results[0]["as_of"])
        baselines.append(evaluate(baseline_run(landing, as_of, args.db.parent / f"{args.db.stem}.baseline"),
                                  truth, landing))
    for scores, baseline in zip(results, baselines):
        scores["baseline"] = baseline
    if args.json:
        print(json.dumps(results if args.seeds else results[0], indent=2))
    else:
        print("\n\n".join(
            f"== {label}\n{format_scores(r)}\n\nbeside the textbook baseline (exact keys, one simple rule per "
            f"pattern):\n{format_comparison(r, r['baseline'])}"
            for label, r in zip([str(t.parent.name) for _, t in datasets], results)))
    if args.febrl:
        from bountyguard.evaluation.febrl import febrl_scores, format_febrl

        print("\n" + format_febrl(febrl_scores()))
    return 0


def _forget(args) -> int:
    from bountyguard.privacy import forget

    result = forget(args.db, args.by, args.reason, person=args.person, record=args.record)
    print(f"forgot {len(result['records'])} records: {', '.join(result['records'])} "
          f"(personal data erased; ids, decisions, amounts and audit kept; "
          f"{result['release_batches_deleted']} superseded release batches deleted)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    handlers = {"run": _run, "export": _export, "generate": _generate, "evaluate": _evaluate, "models": _models,
                "forget": _forget}
    try:
        for module in COMMAND_GROUPS:
            group = importlib.import_module(module)
            if args.command in group.COMMANDS:
                return group.handle(args)
        return handlers[args.command](args)
    except BountyguardError as exc:
        print(f"bountyguard {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # an unexpected failure still gets one line, not a traceback
        if os.environ.get("BOUNTYGUARD_DEBUG"):
            raise
        # where it broke, but not the library's message: database errors can quote a row's values
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/bountyguard/" in f.filename
                  or "/detectors/" in f.filename]
        where = f" in {Path(frames[-1].filename).name}:{frames[-1].lineno} ({frames[-1].name})" if frames else ""
        held = "; a failed report holding every due payout was published" if args.command == "run" else ""
        print(f"bountyguard {args.command}: unexpected error{where}: {type(exc).__name__}{held} "
              "(set BOUNTYGUARD_DEBUG=1 for the full message and traceback)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
