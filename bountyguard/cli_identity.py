"""The `bountyguard reresolve` command (bountyguard/identity/reresolve.py): a full identity resolution
beside the incremental state, listing the records whose person differs (ids only). The DuckDB file is
left unchanged.

The main CLI calls `register(subparsers)` and `handle(args)`. Exit status 0 when the incremental and
the full resolution agree, 1 when records differ, 2 on an error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bountyguard.errors import BountyguardError

# the top-level commands this module adds (bountyguard/cli.py dispatches them here)
COMMANDS = ("reresolve",)


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("reresolve", help="resolve identities in full beside the incremental state and "
                              "list the records whose person differs")
    p.add_argument("--db", required=True, type=Path, help="the DuckDB file (left unchanged)")
    p.add_argument("--config", type=Path, help="a TOML file overriding bountyguard/default_config.toml "
                   "(default: the configuration of the newest run in the file)")
    p.add_argument("--limit", type=int, default=100, help="list at most this many differing records (default 100)")
    return p


def handle(args: argparse.Namespace) -> int:
    from bountyguard.db import connect, require_database_file
    from bountyguard.identity import IdentityConfig
    from bountyguard.identity.reresolve import compare_with_full

    try:
        require_database_file(args.db)
        con = connect(args.db)
        try:
            config = IdentityConfig.from_config(_configuration(con, args.config))
            outcome = compare_with_full(con, config)
        finally:
            con.close()
    except BountyguardError as exc:
        print(f"bountyguard reresolve: {exc}", file=sys.stderr)
        return exc.exit_code
    incremental, full, differences = outcome["incremental"], outcome["full"], outcome["differences"]
    print(f"incremental resolution ({incremental['resolution']}, {incremental['touched_records']:,} records scored): "
          f"{incremental['persons']:,} persons; full resolution: {full['persons']:,} persons "
          f"of {full['records']:,} records")
    print(f"records whose person differs: {len(differences):,}")
    if differences:
        print(f"  {'record':<40} {'incremental person':<20} full person")
        for record_type, record_id, incremental_person, full_person in differences[: args.limit]:
            print(f"  {record_type + ':' + record_id:<40} {incremental_person or '-':<20} {full_person or '-'}")
        if len(differences) > args.limit:
            print(f"  ... and {len(differences) - args.limit:,} more (--limit)")
    return 1 if differences else 0


def _configuration(con, path: Path | None) -> dict:
    """The given file over the defaults, else the newest run's configuration, else the defaults."""
    from bountyguard.config import load_config

    if path is None and con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'runs'").fetchone()[0]:
        newest = con.execute("SELECT config_json FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()
        if newest:
            return json.loads(newest[0])
    return load_config(path)
