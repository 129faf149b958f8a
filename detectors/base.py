"""The common interface of all detectors.

As in scikit-learn and PyOD: parameters go to the constructor (they come from the configuration
section named like the pattern), `detect(con)` does the work, and what a run learned is kept in
trailing-underscore attributes (`n_flags_`). A detector never writes flags itself; it returns rows
of (entity_type, entity_id, person_id, score, severity, evidence) and the runner stores them (a SQL
rule gives the runner its query, `flag_query`, so that its rows stay in DuckDB).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import duckdb

from bountyguard import models
from bountyguard.errors import ConfigError

FLAG_COLUMNS = ("entity_type", "entity_id", "person_id", "score", "severity", "evidence")


class Detector(ABC):
    """Parameters are the keys of the configuration section named like the pattern, and only those:
    bountyguard/default_config.toml is their one home (no defaults here). `from_config` builds a
    detector from a loaded configuration (the packaged defaults when none is given), with overrides;
    each parameter is an attribute, as in scikit-learn. A wrong or missing parameter is a
    ConfigError, which fails a run (and an Airflow task) without retrying."""

    pattern: ClassVar[str]

    def __init__(self, **params):
        from bountyguard.config import defaults

        known = set(defaults().get(self.pattern, {}))
        unknown, missing = sorted(set(params) - known), sorted(known - set(params))
        if unknown or missing:
            raise ConfigError(f"[{self.pattern}]: " + "; ".join(
                ([f"unknown setting(s) {', '.join(unknown)}"] if unknown else [])
                + ([f"missing setting(s) {', '.join(missing)}"] if missing else []))
                + f" (settings: {', '.join(sorted(known)) or 'none'})")
        for name, value in params.items():
            setattr(self, name, value)
        self._param_names = tuple(sorted(params))
        self.check_params()

    @classmethod
    def from_config(cls, config: dict | None = None, **overrides) -> "Detector":
        from bountyguard.config import load_config

        section = (config if config is not None else load_config()).get(cls.pattern, {})
        return cls(**{**section, **overrides})

    def check_params(self) -> None:
        """Raise ConfigError for a value out of range (subclasses with constraints override this)."""

    @property
    def params(self) -> dict:
        return {name: getattr(self, name) for name in self._param_names}

    # True: `detect(con, base=...)` takes the run the kept feature tables were built on this run
    # (bountyguard/incremental.py `start`; None after a full build), and may read only the persons
    # whose rows were rebuilt (the anomaly score)
    follows_features: ClassVar[bool] = False

    @abstractmethod
    def detect(self, con: duckdb.DuckDBPyConnection) -> list[tuple]:
        """Return the offending entities as tuples in FLAG_COLUMNS order. The models this detector
        reads (`required_models`) are built before it runs; a detector builds nothing itself."""

    def required_models(self) -> tuple[str, ...]:
        """The SQL models (bountyguard/models.py) this detector reads."""
        return ()

    def get_params(self) -> dict:
        return dict(self.params)


class SqlRuleDetector(Detector):
    """A rule that is one SQL model under sql/rules/ returning the offending rows with evidence.
    Its `$name` parameters are the detector's parameters."""

    sql_file: ClassVar[str]
    # What each flag of the rule is a function of (bountyguard/incremental.py FLAG_SCOPES): one row of
    # a kept feature table ("stints", "referral_facts": the flag's entity is that row), one candidate
    # person's rows ("candidate_person": the flag's person), or one chained candidate person's stints
    # ("chained_candidate": chained_stints, the flag's person; "chained_placements": and the referrers
    # who placed such a candidate), or one referrer person's payout accounts with every record sharing
    # one ("payout_accounts": the flag's person). A daily run computes the rule for what changed only
    # (the SQL calls in_build_scope on that key where it reads its rows) and carries the previous
    # run's other flags.
    # None: the rule reads across persons, and every run computes all of it.
    flags_follow: ClassVar[str | None] = None

    @property
    def model(self) -> str:
        return self.sql_file.removeprefix("rules/").removesuffix(".sql")

    def required_models(self) -> tuple[str, ...]:
        return (self.model,)

    def flag_query(self) -> tuple[str, dict]:
        """The rule's SELECT of FLAG_COLUMNS and the values of its parameters. The runner stores its
        rows with it, in SQL: a rule may flag hundreds of thousands of rows at ten million referrals
        (early exits), and `detect` brings each one into Python."""
        try:
            query, params = models.query(self.model, params=self.params)
        except models.ModelError as exc:
            raise ValueError(str(exc)) from None
        return f"SELECT {', '.join(FLAG_COLUMNS)} FROM ({query})", params

    def detect(self, con: duckdb.DuckDBPyConnection) -> list[tuple]:
        query, params = self.flag_query()
        rows = con.execute(query, params or None).fetchall()
        self.n_flags_ = len(rows)
        return rows
