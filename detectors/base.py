"""The common interface of all detectors.

As in scikit-learn and PyOD: parameters go to the constructor (they come from the configuration
section named like the pattern), `detect(con)` does the work, and what a run learned is kept in
trailing-underscore attributes (`n_flags_`). A detector never writes flags itself; it returns rows
of (entity_type, entity_id, person_id, score, severity, evidence) and the runner stores them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import duckdb

from bountyguard import models

FLAG_COLUMNS = ("entity_type", "entity_id", "person_id", "score", "severity", "evidence")


class Detector(ABC):
    pattern: ClassVar[str]

    def __init__(self, **params):
        self.params = params

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

    @property
    def model(self) -> str:
        return self.sql_file.removeprefix("rules/").removesuffix(".sql")

    def required_models(self) -> tuple[str, ...]:
        return (self.model,)

    def detect(self, con: duckdb.DuckDBPyConnection) -> list[tuple]:
        try:
            query, params = models.query(self.model, params=self.params)
        except models.ModelError as exc:
            raise ValueError(str(exc)) from None
        rows = con.execute(f"SELECT {', '.join(FLAG_COLUMNS)} FROM ({query})", params or None).fetchall()
        self.n_flags_ = len(rows)
        return rows
