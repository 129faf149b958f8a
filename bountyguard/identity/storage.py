"""The trained model kept between runs (table identity_model, sql/schema/identity.sql), so that runs on
slowly growing data skip training."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import duckdb

from bountyguard import normalize
from bountyguard.db import run_sql_file
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
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


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
    return json.loads(settings_json)


def _store_model(con: duckdb.DuckDBPyConnection, config: IdentityConfig, linker: Any, n_records: int) -> None:
    settings = linker.misc.save_model_to_json()
    settings.pop("linker_uid", None)  # names Splink's cache tables; a reusing run gets its own
    run_sql_file(con, "schema/identity.sql")
    # (no transaction of our own: the caller may hold one. Interrupted in between, no model is stored
    # and the next run trains.)
    _run(con, "DELETE FROM identity_model")
    con.execute("INSERT INTO identity_model VALUES (?, ?, ?)",
                [_model_fingerprint(config), n_records, json.dumps(settings, sort_keys=True)]).complete()
