"""The trained model kept between runs (tables identity_model and identity_model_term_frequencies,
sql/schema/identity.sql), so that runs on slowly growing data skip training.

The term frequencies are part of the model: frozen when it is trained, so a value weighs the same in
every run until the next training. (Recomputed per run, every new record would shift every value's
frequency and so the score of every pair, and a daily run could not keep yesterday's links.)"""
from __future__ import annotations

import json
from typing import Any

import duckdb

from bountyguard import normalize
from bountyguard.db import run_sql_file, state_fingerprint
from bountyguard.identity.config import IdentityConfig
from bountyguard.identity.model import _DETERMINISTIC_RECALL, _DETERMINISTIC_RULES, _TRAINING_BLOCKS, _run, _settings



def _model_fingerprint(config: IdentityConfig) -> str:
    """Everything a trained model depends on besides the data: a stored model with another fingerprint
    was trained under other rules and is never reused."""
    import splink

    spec = {
        "settings": _settings(config, trained=True).create_settings_dict("duckdb"),
        "training_blocks": _TRAINING_BLOCKS,
        "deterministic_rules": _DETERMINISTIC_RULES,
        "deterministic_recall": _DETERMINISTIC_RECALL,
        "seed": config.seed,
        "u_max_pairs": config.u_max_pairs,
        "em_max_pairs": config.em_max_pairs,
        "keys_version": normalize.KEYS_VERSION,
        "splink": splink.__version__,
    }
    return state_fingerprint(spec)


def _stored_model(con: duckdb.DuckDBPyConnection, config: IdentityConfig, n_records: int
                  ) -> dict[str, Any] | None:
    """The stored trained settings, if trained under the same rules on a record count within
    retrain_after_growth of n_records; else None (train)."""
    run_sql_file(con, "schema/identity.sql")
    rows = con.execute("SELECT trained_records, settings_json FROM identity_model WHERE fingerprint = ?",
                       [_model_fingerprint(config)]).fetchall()
    if len(rows) != 1:
        return None
    trained_records, settings_json = rows[0]
    if trained_records <= 0 or abs(n_records - trained_records) > config.retrain_after_growth * trained_records:
        return None
    settings = json.loads(settings_json)
    frozen = {column for (column,) in con.execute(
        "SELECT DISTINCT column_name FROM identity_model_term_frequencies WHERE value_digest IS NULL").fetchall()}
    if not set(_tf_columns(settings)) <= frozen:
        return None  # stored before term frequencies were kept with the model: train again
    return settings


def _tf_columns(settings: dict[str, Any]) -> list[str]:
    """The columns the model adjusts for term frequency (in the settings' order)."""
    columns = [level["tf_adjustment_column"] for comparison in settings["comparisons"]
               for level in comparison["comparison_levels"] if level.get("tf_adjustment_column")]
    return list(dict.fromkeys(columns))


def _store_model(con: duckdb.DuckDBPyConnection, config: IdentityConfig, settings: dict[str, Any],
                 n_records: int) -> None:
    """Store the trained settings and freeze the term frequencies of identity_splink_input (what Splink
    computes: a value's records over the column's non-null records) with them."""
    run_sql_file(con, "schema/identity.sql")
    # (no transaction of our own: the caller may hold one. Interrupted in between, no model is stored
    # (or one without its term frequencies, which _stored_model refuses) and the next run trains.)
    _run(con, "DELETE FROM identity_model")
    _run(con, "DELETE FROM identity_model_term_frequencies")
    for column in _tf_columns(settings):
        _run(con, f"""
            INSERT INTO identity_model_term_frequencies
            WITH total AS (SELECT count({column}) AS n FROM identity_splink_input)
            SELECT '{column}', md5({column}), count(*)::DOUBLE / any_value(total.n)
            FROM identity_splink_input, total WHERE {column} IS NOT NULL
            GROUP BY {column} HAVING count(*) > 1
            UNION ALL
            SELECT '{column}', NULL, 1.0::DOUBLE / n FROM total WHERE n > 0""")
    con.execute("INSERT INTO identity_model VALUES (?, ?, ?)",
                [_model_fingerprint(config), n_records, json.dumps(settings, sort_keys=True)]).complete()


def _register_term_frequencies(con: duckdb.DuckDBPyConnection, db: Any, linker: Any, settings: dict[str, Any],
                               table: str) -> None:
    """Give the linker the frozen term frequencies of every value in `table` (a value seen by fewer than
    two records at training: the share of one record), instead of Splink computing them on the day's
    population."""
    for column in _tf_columns(settings):
        _run(con, f"""
            CREATE OR REPLACE TEMP TABLE identity_tf_{column} AS
            SELECT v.{column}, coalesce(t.tf, once.tf) AS tf_{column}
            FROM (SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL) v
            CROSS JOIN (SELECT tf FROM identity_model_term_frequencies
                        WHERE column_name = '{column}' AND value_digest IS NULL) once
            LEFT JOIN identity_model_term_frequencies t
                   ON t.column_name = '{column}' AND t.value_digest = md5(v.{column})""")
        frequencies = db.register(f"identity_tf_{column}", table_name=f"identity_tf_{column}")
        linker.table_management.register_term_frequency_lookup(frequencies, column)


def _term_frequency_digest(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the frozen term frequencies, for the resolution state's fingerprint."""
    run_sql_file(con, "schema/identity.sql")
    count, total = con.execute("SELECT count(*), sum(hash(column_name, value_digest, tf))::VARCHAR "
                               "FROM identity_model_term_frequencies").fetchall()[0]
    return f"{count}:{total}"
