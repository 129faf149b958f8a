"""The feature tables kept between runs: a daily run rebuilds only the rows whose inputs changed.

`stints` (one row per hire) and `referral_facts` (one row per referral) are the largest feature
tables, and each of their rows is a function of a few rows of the platform's data and of identity
resolution's persons (sql/features/stints.sql, referral_facts.sql). A run that follows the run which
last built them rebuilds, by key, only the hires and referrals whose inputs differ from what that run
saw (sql/incremental/changed_rows.sql); every other row is what a full build would write again.
The behaviour tables of the anomaly score (one row per referrer and per candidate person) follow:
each row is a function of the person's own rows and the as-of date, so only the persons those
rebuilt rows named before or name now, and those whose windows the as-of date moved, are rebuilt
(sql/incremental/changed_persons.sql), and the anomaly detector compares (and scores again) only
them when its kept scores are those of the base run (detectors/anomaly.py). The chains of
re-registered candidates follow by name: `stint_names` holds each referred stint under every name of
its candidate person, and `stint_chains` the chains, each under one name; a daily run rebuilds the
hires of the candidate persons whose stints or records changed, then the chains of the names those
hires' rows held or hold (sql/incremental/changed_chains.sql). A rule whose every flag follows one
row of `stints` or `referral_facts` (detectors' `flags_follow`: early_exit, late_referral), or one
candidate person's rows (duplicate_referral: sql/incremental/changed_rule_persons.sql), or one
chained candidate person's stints (job_hopping: sql/incremental/changed_chained_candidates.sql; and
serial_rereferral, with the referrers who placed them), is computed on the rebuilt rows or changed
persons only, and the base run's other flags of it stay current
(rule_scope; bountyguard/flag_versions.py stores a run's flags as versions). The other rules still
read the whole tables.

Fail closed, towards the full build: the state row (sql/schema/features.sql) leaves before the
tables are touched and comes back only when all are rebuilt, so a run that stopped halfway, a run
as of an earlier date, other SQL, settings or kept tables (the fingerprint), persons the run did not
resolve (fallback persons), or a base run whose identities were pruned all mean a full build. So
do FULL_BUILD_EVERY incremental builds in a row: DuckDB keeps the rows a run deletes in place until
their row group is rewritten, and a full build writes the tables without them.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

import duckdb

from bountyguard import models, normalize
from bountyguard.db import run_sql_file, sql_text, state_fingerprint

log = logging.getLogger(__name__)

# model -> the temp table of the keys a run rebuilds: rows (made by sql/incremental/changed_rows.sql),
# then persons (changed_persons.sql, which reads the row tables before and after their rebuild)
ROWS = {"stints": "changed_hires", "referral_facts": "changed_referrals"}
PERSONS = {"referrer_behaviour": "changed_referrer_persons", "candidate_behaviour": "changed_candidate_persons"}
# then the chains: hires (changed_chains.sql), then the names their rows named before or name now
NAMES = {"stint_names": "changed_name_hires"}
CHAINS = {"stint_chains": "changed_chain_names"}
KEPT = {**ROWS, **PERSONS, **NAMES, **CHAINS}
# what a rule's flags follow (detectors' `flags_follow`) -> the temp table of the keys a daily run
# computes the rule on again, its key column, and the flags' column that holds that key: one row of
# a kept table (the flag's entity), or a candidate person's rows (sql/incremental/changed_rule_persons.sql)
FLAG_SCOPES = {
    "stints": (ROWS["stints"], "hire_id", "entity_id"),
    "referral_facts": (ROWS["referral_facts"], "referral_id", "entity_id"),
    "candidate_person": ("changed_rule_candidates", "person_id", "person_id"),
    # one candidate person's stints with the chains' members under their chain's first person
    # (chained_stints; sql/incremental/changed_chained_candidates.sql, after the chains are rebuilt)
    "chained_candidate": ("changed_chained_candidates", "person_id", "person_id"),
    # and the referrer persons who placed such a candidate, with all of that referrer's placements
    "chained_placements": ("changed_placement_persons", "person_id", "person_id"),
    # one referrer person's payout accounts, with every record sharing one (changed_account_persons.sql)
    "payout_accounts": ("changed_account_persons", "person_id", "person_id"),
}

# incremental builds between two full ones (identity resolution sweeps its key cache as often)
FULL_BUILD_EVERY = 7


def fingerprint(targets: list[str], config: dict | None) -> str:
    """What the kept rows were built with: the SQL of the models and of what they read, their
    settings, the change rules, the engine, and which kept tables the run builds (a table that a run
    left alone is not up to date). Any other value means a full build."""
    built = [name for name in models.build_order(targets) if name in KEPT]
    return state_fingerprint({
        # the chains are kept by normalised name: another normalisation renames every name
        "duckdb": duckdb.__version__, "keys_version": normalize.KEYS_VERSION, "kept": built,
        "settings": {name: models.query(name, config)[1] for name in built},
        "sql": [models.models()[name].sql for name in models.build_order(built)],
        "rules": [sql_text(f"incremental/{rules}.sql") for rules in (
            "changed_rows", "changed_persons", "changed_chains", "changed_rule_persons",
            "changed_chained_candidates", "changed_account_persons")]})


def start(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, targets: list[str],
          config: dict | None) -> dict | None:
    """The run whose tables this run may build on, or None for a full build. Reads the state row and
    removes it: from here until `finish`, the tables are this run's work in progress."""
    rows = con.execute(
        "SELECT run_id, as_of, fingerprint, loaded_runs, builds_since_full FROM feature_state").fetchall()
    con.execute("DELETE FROM feature_state")
    if len(rows) != 1:
        return None
    base_run, base_as_of, base_fingerprint, loaded_runs, builds_since_full = rows[0]
    why_full = (
        "other SQL, settings, tables or engine" if base_fingerprint != fingerprint(targets, config)
        else f"{builds_since_full} incremental builds in a row" if builds_since_full >= FULL_BUILD_EVERY
        else "the tables are as of a later date" if base_as_of > as_of
        else "the same run again" if base_run == run_id
        else "the base run's identities were pruned" if not con.execute(
            "SELECT count(*) FROM run_identity_generations WHERE run_id = ?", [base_run]).fetchone()[0]
        else None)
    if why_full:
        log.info("features: full build (%s)", why_full)
        return None
    return {"base_run_id": base_run, "base_as_of": base_as_of, "loaded_runs": list(loaded_runs),
            "builds_since_full": builds_since_full}


def build(con: duckdb.DuckDBPyConnection, targets: list[str], config: dict | None, run_id: str, as_of: dt.date,
          base: dict | None) -> dict[str, int] | None:
    """Build the targets and what they read (models.build); the kept tables by key on `base`, in
    full without one. This run's identities must be recorded (run_identities). Returns the keys rebuilt per
    kept table, or None for a full build."""
    if base is None:
        models.build(con, targets, config=config)
        return None
    params = {**base, "run_id": run_id, "as_of": as_of}
    rows = [name for name in models.build_order(targets) if name in ROWS]
    started = time.perf_counter()
    run_sql_file(con, "incremental/changed_rows.sql", params)
    found = time.perf_counter() - started
    built = models.build(con, rows, config=config, changed={name: ROWS[name] for name in rows})
    started = time.perf_counter()
    run_sql_file(con, "incremental/changed_persons.sql", params)
    run_sql_file(con, "incremental/changed_rule_persons.sql", params)
    run_sql_file(con, "incremental/changed_account_persons.sql",
                 {**params, "patterns": _following("payout_accounts")})
    found += time.perf_counter() - started
    if any(name in NAMES for name in models.build_order(targets)):
        started = time.perf_counter()
        run_sql_file(con, "incremental/changed_chains.sql", params)
        found += time.perf_counter() - started
        built += models.build(con, list(NAMES), config=config, upstream=False, changed=NAMES)
        names = CHAINS["stint_chains"]  # and the names the rebuilt rows hold now
        con.execute(f"INSERT INTO {names} SELECT * FROM names_of_changed_hires EXCEPT SELECT * FROM {names}")
        built += models.build(con, list(CHAINS), config=config, upstream=False, changed=CHAINS)
        started = time.perf_counter()
        run_sql_file(con, "incremental/changed_chained_candidates.sql", {**params, "windows": _windows(config)})
        found += time.perf_counter() - started
    rest = [name for name in models.build_order(targets) if name not in built]
    models.build(con, rest, config=config, upstream=False,
                 changed={name: PERSONS[name] for name in rest if name in PERSONS})
    counts = {name: con.execute(f"SELECT count(*) FROM {keys}").fetchone()[0]
              for name, keys in KEPT.items() if name in built or name in rest}
    what = {"hire_id": "hires", "referral_id": "referrals", "person_id": "persons", "name_key": "names"}
    log.info("features: rebuilt %s since run %s (found in %.1f s)", ", ".join(
        f"{n:,} {what[models.models()[name].unique_key]} of {name}" for name, n in counts.items()),
        base["base_run_id"], found)
    return counts


def _following(follows: str) -> list[str]:
    """The patterns of the rules whose flags follow `follows` (detectors' `flags_follow`)."""
    from detectors import REGISTRY

    return sorted(pattern for pattern, cls in REGISTRY.items() if getattr(cls, "flags_follow", None) == follows)


def _windows(config: dict | None) -> list[int]:
    """Every `window_months` setting of the configuration (job_hopping's among them): the windows
    whose start the as-of date moves past (sql/incremental/changed_chained_candidates.sql)."""
    from bountyguard.config import defaults

    sections = (config if config is not None else defaults()).values()
    return sorted({int(s["window_months"]) for s in sections if isinstance(s, dict) and "window_months" in s})


def finish(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, base: dict | None, targets: list[str],
           config: dict | None) -> None:
    """The kept tables now hold this run's rows (built on `base`, or in full): record it, with the
    runs whose rows they saw (`loaded_runs`)."""
    since_full = base["builds_since_full"] + 1 if base else 0
    con.execute("DELETE FROM feature_state")
    con.execute("INSERT INTO feature_state VALUES (?, ?, ?, ?, ?)",
                [run_id, as_of, fingerprint(targets, config), loaded_runs(con), since_full])


def rule_fingerprint(pattern: str, query: str, params: dict | None) -> str:
    """What a rule's flags were computed with: its SQL, its settings and the engine."""
    return state_fingerprint({"duckdb": duckdb.__version__, "pattern": pattern, "sql": query,
                              "params": params or {}})


def rule_scope(con: duckdb.DuckDBPyConnection, pattern: str, follows: str | None, fingerprint: str,
               base: dict | None) -> tuple[str, str, str] | None:
    """(keys table, key column, flag column) of the keys whose flags a rule computes again on this
    run (FLAG_SCOPES), when its flags follow them (detectors' `flags_follow`: each flag a function of
    one kept row, or of one candidate person's rows) and its other flags may be carried from the base
    run: the tables were built on that run (`base`), which stored the rule's flags with the same
    fingerprint and still holds all of them (flags are pruned with old runs), and they are the
    current versions (bountyguard/flag_versions.py: the others stay current). None: compute every flag."""
    if base is None or follows not in FLAG_SCOPES:
        return None
    keys = FLAG_SCOPES[follows][0]
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [keys]).fetchone()[0]:
        return None  # this run did not build what the keys are found from (the chains)
    state = con.execute("SELECT run_id, fingerprint, flags FROM rule_state WHERE pattern = ?", [pattern]).fetchall()
    if len(state) != 1 or state[0][:2] != (base["base_run_id"], fingerprint):
        return None
    held = con.execute("SELECT count(*) FROM flags WHERE run_id = ? AND pattern = ?",
                       [base["base_run_id"], pattern]).fetchone()[0]
    current = con.execute("SELECT count(*) FROM flag_versions WHERE pattern = ? AND to_generation IS NULL",
                          [pattern]).fetchone()[0]
    return FLAG_SCOPES[follows] if held == current == state[0][2] else None


def record_rule(con: duckdb.DuckDBPyConnection, run_id: str, pattern: str, fingerprint: str) -> None:
    """The run's flags of the rule are stored: the next run may keep them current (rule_scope)."""
    con.execute("DELETE FROM rule_state WHERE pattern = ?", [pattern])
    con.execute("INSERT INTO rule_state SELECT ?, ?, ?, count(*) FROM flags WHERE run_id = ? AND pattern = ?",
                [pattern, run_id, fingerprint, run_id, pattern])


def loaded_runs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every run that has loaded rows so far (rows are loaded with the step that marks it; one writer
    at a time, so none can load while a run holds the file): what a kept state records as seen, so
    that a row loaded by any other run is new to the next run (the feature tables here, the
    quarantine in bountyguard/validate.py; ingest drops a state that counts a run loading again)."""
    return con.execute("SELECT coalesce(list(run_id ORDER BY run_id), []) FROM runs WHERE step <> 'started'"
                       ).fetchone()[0]


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """The tables no longer match any run's persons (fallback persons): the next run builds in full."""
    con.execute("DELETE FROM feature_state")
