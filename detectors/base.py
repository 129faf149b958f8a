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

from bountyguard.db import sql_text

FLAG_COLUMNS = ("entity_type", "entity_id", "person_id", "score", "severity", "evidence")


class Detector(ABC):
    pattern: ClassVar[str]

    def __init__(self, **params):
        self.params = params

    @abstractmethod
    def detect(self, con: duckdb.DuckDBPyConnection) -> list[tuple]:
        """Return the offending entities as tuples in FLAG_COLUMNS order."""

    def get_params(self) -> dict:
        return dict(self.params)


class SqlRuleDetector(Detector):
    """A rule that is one SQL file under sql/rules/ returning the offending rows with evidence.
    Its `$name` parameters are the detector's parameters."""

    sql_file: ClassVar[str]

    def detect(self, con: duckdb.DuckDBPyConnection) -> list[tuple]:
        query = sql_text(self.sql_file)
        params = {k: v for k, v in self.params.items() if f"${k}" in query}
        missing = [
            name for name in _placeholders(query) if name not in params
        ]
        if missing:
            raise ValueError(f"{self.sql_file}: no value for parameter(s) {', '.join(missing)}")
        rows = con.execute(f"SELECT {', '.join(FLAG_COLUMNS)} FROM ({query})", params).fetchall()
        self.n_flags_ = len(rows)
        return rows


def _placeholders(query: str) -> set[str]:
    import re

    return set(re.findall(r"\$([a-z_][a-z0-9_]*)", query))
