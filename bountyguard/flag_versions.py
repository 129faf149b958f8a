"""A run's flags, stored as versions (sql/schema/runs.sql): each run writes what changed, not a copy.

The detect step opens the run's generation (`open_generation`), stores each detector's flags as the
change from the current versions (`store`, sql/flags/store_flags.sql) and ends the flags of patterns
no detector made this run (`close`). The view `flags` reads any kept run's flags as before. A rule
computed on part of the run only (bountyguard/incremental.py `rule_scope`) changes only that part:
the base run's other flags stay current, which is what copying them into the run's flags was.

Why versions: most of a run's flags are the day before's again (at ten million referrals, 334,000
flags a run, 208,000 of them early exits that a daily run computes only where their rows changed),
and copying them every run cost seconds (early_exit 3.0-3.1 s -> 0.34-0.38 s at 10M) and grew the
file by each copy until retention pruned it. The anomaly flags change every day (their evidence
names the day's rank and population), so they are written again as before.
"""
from __future__ import annotations

import duckdb

from bountyguard.db import run_sql_file


def open_generation(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """The run's next generation of flags (a detect step run again gets another one; the flags of
    an earlier attempt are not the run's any more). Until each pattern is stored, the run reads the
    versions current before it."""
    con.execute("DELETE FROM run_flag_generations WHERE run_id = ?", [run_id])
    generation = con.execute("SELECT nextval('flag_generation_seq')").fetchone()[0]
    con.execute("INSERT INTO run_flag_generations VALUES (?, ?)", [run_id, generation])
    return generation


def drop_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """The run has no flags (its detectors could not run on its data)."""
    con.execute("DELETE FROM run_flag_generations WHERE run_id = ?", [run_id])


def store(con: duckdb.DuckDBPyConnection, generation: int, pattern: str,
          scope: tuple[str, str, str] | None = None) -> int:
    """Store the temp table detected_flags (FLAG_COLUMNS) as the pattern's flags of `generation`,
    in one transaction; with `scope` (keys table, key column, flag column: incremental.rule_scope),
    as the flags of those keys only. Returns how many flags of the pattern the generation holds.
    A flag_id twice in one generation fails: a flag is one entity's, once."""
    keys, key, column = scope if scope else (None, None, "entity_id")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE flag_scope AS " + (
            f"SELECT DISTINCT {key} AS key FROM {keys}" if scope else "SELECT NULL::VARCHAR AS key WHERE false"))
        run_sql_file(con, "flags/store_flags.sql", {"generation": generation, "pattern": pattern,
                                                    "scoped": scope is not None, "scope_column": column})
        con.execute("DROP TABLE flag_scope")
        total, twice = con.execute(
            "SELECT count(*), count(*) - count(DISTINCT flag_id) FROM flag_versions "
            "WHERE pattern = ? AND to_generation IS NULL", [pattern]).fetchone()
        if twice:
            raise ValueError(f"{pattern}: {twice} flag id(s) twice in one run (a flag is one entity's, once); "
                             "nothing of this run's flags of the pattern was stored")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return total


def close(con: duckdb.DuckDBPyConnection, generation: int, patterns: list[str]) -> None:
    """The flags of patterns no detector of this run made (a pattern no longer run) end here."""
    con.execute("UPDATE flag_versions SET to_generation = ? WHERE to_generation IS NULL "
                "AND NOT list_contains(?, pattern)", [generation, patterns])


def version_copies(con: duckdb.DuckDBPyConnection) -> None:
    """The flags of a file written while `flags` was a table holding a copy of every flag per run
    (renamed flags_copies by the caller, inside its transaction) become versions, run by run in run
    order (sql/flags/version_copies.sql)."""
    for (run_id,) in con.execute("SELECT DISTINCT run_id FROM flags_copies ORDER BY run_id").fetchall():
        generation = open_generation(con, run_id)
        run_sql_file(con, "flags/version_copies.sql", {"run_id": run_id, "generation": generation})
