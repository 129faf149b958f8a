"""anomaly: an unsupervised outlier score over behaviour features, a ranking for analysts' review.

Rules catch the schemes somebody wrote down; this score ranks behaviour nobody wrote a rule for.
Per referrer person and per candidate person, DuckDB builds a small table of behaviour features as of
the run date (sql/features/referrer_behaviour.sql, candidate_behaviour.sql). Only that table, one row
per person, goes to numpy; the raw history stays in DuckDB.

A small ensemble of fast, linear-time PyOD models scores it: ECOD and COPOD (empirical tail
probabilities per feature, parameter-free) and HBOS (histograms), optionally IForest with a fixed seed.
Each model's scores become ranks scaled to 0..1 (raw scores of different models are not comparable),
and the person's score is their mean. The top `top_share` of a population is flagged.

Explanations come from ECOD/COPOD: both sum a per-feature outlier score, -ln(empirical tail
probability) of the person's value (their `O` matrix), so the features with the largest terms are the
ones that make the person unusual. Evidence names them with the person's value and the population
median. 3.0 means about 1 in 20 people are as extreme on that feature; 4.6 about 1 in 100.

An anomaly is a lead for review, not a finding: severity is `low` (the decision step holds payouts
only for medium/high), `medium` only above an explicitly configured `hold_threshold`.
"""
from __future__ import annotations

import json
import math

import duckdb
import numpy as np
from scipy.stats import rankdata

from bountyguard.errors import ConfigError
from detectors.base import Detector

# The features the models see by default; the tables hold more (volume per window, distinct companies,
# account age) for analysts and for other configurations. Measured choices (see tests/detectors/
# test_anomaly.py and the generator's rule-free abusers):
# - no raw volume for referrers: ECOD/COPOD rank tails, and the busiest honest power recruiter always
#   sits in the volume tail; volume against one's own history and peers is velocity_spike's business.
#   Referrers are scored on the *shape* of their business: how often referrals convert, how long hires
#   stay, how often they leave right after the guarantee, lead times, and where the money comes from.
# - shares as the lower bound of their confidence interval: 1 of 1 is not 12 of 12.
# - account age at first referral: busy, honest accounts start referring on day one, so it ranked
#   them above the abusers; it stays in the table.
# Candidates keep their volume: a person referred or placed many times in a year is unusual whoever
# they are (there is no honest "power candidate").
REFERRER_FEATURES = (
    "conversion_rate_lower_bound",
    "median_tenure_days",
    "exit_soon_after_guarantee_share_lower_bound",
    "median_days_referral_to_hire",
    "top_candidate_bounty_share",
)
CANDIDATE_FEATURES = (
    "referrals_365d",
    "placements_365d",
    "distinct_referrers",
    "conversion_rate_lower_bound",
    "median_tenure_days",
    "exit_soon_after_guarantee_share_lower_bound",
    "median_days_referral_to_hire",
    "top_referrer_bounty_share",
)
FEATURES = {"referrer": REFERRER_FEATURES, "candidate": CANDIDATE_FEATURES}

# entity type -> (feature table, its SQL file, person-record type, evidence key for the record ids)
ENTITIES = {
    "referrer": ("referrer_behaviour", "features/referrer_behaviour.sql", "referrer", "referrer_ids"),
    "candidate": ("candidate_behaviour", "features/candidate_behaviour.sql", "candidate", "candidate_ids"),
}
MODELS = ("ecod", "copod", "hbos", "iforest")
EXPLAINING_MODELS = ("ecod", "copod")


class AnomalyDetector(Detector):
    """Parameters (the `[anomaly]` configuration section):

    top_share: the share of each population (referrer persons, candidate persons) that is flagged;
    min_score: nobody below this combined score (0..1) is flagged, even inside the top share;
    hold_threshold: a score at or above it makes the flag `medium` (held); above 1: always `low`;
    min_population: a population smaller than this is not ranked at all;
    max_flags: at most this many flags per entity type and run (0: no cap);
    models: the PyOD models of the ensemble (ecod, copod, hbos, iforest);
    entities: which populations to score (referrer, candidate);
    exit_window_days: an exit at most this many days after the guarantee end counts as "soon after";
    explain_top: how many features the evidence names;
    hbos_bins, iforest_estimators, random_state: model settings (IForest's seed is fixed).

    Learned state after `detect`: scores_ (entity -> {person_id: score}), model_scores_, feature_names_,
    n_persons_, n_flags_.
    """

    pattern = "anomaly"

    def check_params(self) -> None:
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ConfigError(f"[anomaly] models: choose from {', '.join(MODELS)} (got {list(self.models)})")
        if [e for e in self.entities if e not in ENTITIES]:
            raise ConfigError(f"[anomaly] entities: choose from {', '.join(ENTITIES)} (got {list(self.entities)})")
        if not 0 <= self.top_share <= 1:
            raise ConfigError("[anomaly] top_share must be between 0 and 1")

    # the configuration file cannot say "none" (TOML has no null): a flag cap of 0 and a threshold
    # above every possible score mean "no cap" and "never hold"
    @property
    def flag_cap(self) -> int | None:
        return self.max_flags if self.max_flags > 0 else None

    @property
    def holding_score(self) -> float | None:
        return self.hold_threshold if self.hold_threshold <= 1 else None

    # -- features ---------------------------------------------------------------------------------------
    def required_models(self) -> tuple[str, ...]:
        """The per-person behaviour tables of the entities this detector scores."""
        return tuple(ENTITIES[entity][0] for entity in self.params["entities"])

    def feature_matrix(self, con, entity: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """person ids (sorted: row order never depends on how DuckDB scheduled the query) and features."""
        table = ENTITIES[entity][0]
        names = list(FEATURES[entity])
        known = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"anomaly.{entity}_features: {table} has no column(s) {', '.join(missing)}")
        cols = con.execute(
            f"SELECT person_id, {', '.join(names)} FROM {table} ORDER BY person_id").fetchnumpy()
        persons = np.asarray(cols["person_id"], dtype=object)
        X = np.column_stack([np.asarray(cols[n], dtype=np.float64) for n in names]) if len(persons) else \
            np.empty((0, len(names)))
        return persons, X, names

    # -- scoring ----------------------------------------------------------------------------------------
    def score(self, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Combined 0..1 score per row, each model's rank-normalised score, and the per-feature tail
        scores (n x d) that explain them."""
        n = X.shape[0]
        # A signed log keeps the order (ECOD/COPOD only use ranks) and tames the long tails of counts and
        # durations for the models that use distances or equal-width bins (HBOS, IForest).
        Z = np.sign(X) * np.log1p(np.abs(X))
        per_model, tails = {}, []
        for name in self.params["models"]:
            model = self._model(name)
            model.fit(Z)
            per_model[name] = _rank01(np.nan_to_num(model.decision_scores_, nan=0.0))
            if name in EXPLAINING_MODELS:
                tails.append(np.nan_to_num(model.O, nan=0.0))
            del model
        if not tails:  # explanations still come from ECOD's per-feature tail scores
            model = self._model("ecod")
            model.fit(Z)
            tails.append(np.nan_to_num(model.O, nan=0.0))
        combined = np.mean(np.vstack(list(per_model.values())), axis=0) if n else np.empty(0)
        return combined, per_model, np.mean(tails, axis=0)

    def _model(self, name: str):
        if name == "ecod":
            from pyod.models.ecod import ECOD
            return ECOD()
        if name == "copod":
            from pyod.models.copod import COPOD
            return COPOD()
        if name == "hbos":
            from pyod.models.hbos import HBOS
            _cache_hbos_compilation()
            return HBOS(n_bins=self.params["hbos_bins"])
        from pyod.models.iforest import IForest
        return IForest(n_estimators=self.params["iforest_estimators"], random_state=self.params["random_state"],
                       n_jobs=1)

    # -- the detector -----------------------------------------------------------------------------------
    def detect(self, con: duckdb.DuckDBPyConnection) -> list[tuple]:
        self.scores_, self.model_scores_, self.feature_names_, self.n_persons_ = {}, {}, {}, {}
        rows = []
        for entity in self.params["entities"]:
            rows += self._detect_entity(con, entity)
        self.n_flags_ = len(rows)
        return rows

    def _detect_entity(self, con, entity: str) -> list[tuple]:
        persons, X, names = self.feature_matrix(con, entity)
        self.feature_names_[entity] = names
        self.n_persons_[entity] = n = len(persons)
        if n < max(2, self.params["min_population"]):  # "unusual" among a handful of people means nothing
            self.scores_[entity], self.model_scores_[entity] = {}, {}
            return []
        combined, per_model, tails = self.score(X)
        self.scores_[entity] = dict(zip(persons.tolist(), combined.round(6).tolist()))
        self.model_scores_[entity] = {m: s for m, s in per_model.items()}

        # highest score first, person id breaks ties: identical inputs, identical flags
        order = np.lexsort((persons.astype(str), -combined))
        n_flags = math.floor(self.params["top_share"] * n)
        if self.flag_cap is not None:  # what analysts can review per run
            n_flags = min(n_flags, self.flag_cap)
        chosen = [i for i in order[:n_flags] if combined[i] >= self.params["min_score"]]
        if not chosen:
            return []
        top_features = np.argsort(-tails[chosen], axis=1, kind="stable")[:, : self.params["explain_top"]]

        medians = np.median(X, axis=0)
        table, _, record_type, ids_key = ENTITIES[entity]
        records = self._records(con, entity, record_type, [persons[i] for i in chosen])
        hold = self.holding_score
        rows = []
        for rank, (i, top) in enumerate(zip(chosen, top_features), start=1):
            person = persons[i]
            ids = records.get(person, [])
            if not ids:
                continue
            score = round(float(combined[i]), 4)
            evidence = {
                "person_id": person,
                ids_key: ids,
                "score": score,
                "rank": rank,
                "population": n,
                "flagged_share": self.params["top_share"],
                "model_scores": {m: round(float(s[i]), 4) for m, s in per_model.items()},
                "top_features": [
                    {
                        "feature": names[j],
                        "value": _plain(X[i, j]),
                        "population_median": _plain(medians[j]),
                        "direction": _direction(X[i, j], medians[j]),
                        # -ln(empirical tail probability), averaged over ECOD/COPOD
                        "tail_score": round(float(tails[i, j]), 3),
                    }
                    for j in top
                ],
                "features_table": table,
            }
            severity = "medium" if hold is not None and score >= hold else "low"
            rows.append((entity, ids[0], person, score, severity, json.dumps(evidence, sort_keys=True)))
        return rows

    @staticmethod
    def _records(con, entity: str, record_type: str, persons: list[str]) -> dict[str, list[str]]:
        """All records of each flagged person: from identity resolution, and from the facts for persons
        that fell back to one record (person id 'referrer:<id>')."""
        side = "referrer" if entity == "referrer" else "candidate"
        found = con.execute(
            f"""
            SELECT person_id, list(DISTINCT record_id ORDER BY record_id)
            FROM (
                SELECT person_id, record_id FROM person_records WHERE record_type = ?
                UNION ALL
                SELECT {side}_person_id, {side}_id FROM referral_facts
            )
            WHERE person_id IN (SELECT unnest(?::VARCHAR[]))
            GROUP BY person_id
            """,
            [record_type, persons],
        ).fetchall()
        return {p: list(ids) for p, ids in found}


def _cache_hbos_compilation() -> None:
    """PyOD's HBOS scores through a numba function that is compiled on its first call in a process, and
    every run's detect step is a new process: the compilation took 5-15 s of each run (the fit itself
    0.1 s at 100,000 persons; measured by profiling the detector on a 100k benchmark file). The same
    function, compiled with numba's on-disk cache, is compiled once per installation. Where PyOD no
    longer has that function, or numba has nowhere to write its cache, HBOS compiles as it did."""
    import pyod.models.hbos as hbos

    compiled = getattr(hbos, "_calculate_outlier_scores", None)
    if compiled is None or getattr(compiled, "_bountyguard_cached", False) or not hasattr(compiled, "py_func"):
        return
    from numba import njit

    try:
        cached = njit(cache=True)(compiled.py_func)
    except RuntimeError:  # numba found no writable cache folder (a read-only install, no home folder)
        return
    cached._bountyguard_cached = True
    hbos._calculate_outlier_scores = cached


def _rank01(scores: np.ndarray) -> np.ndarray:
    """Scores as ranks scaled to (0, 1]; ties share their average rank."""
    return rankdata(scores, method="average") / len(scores)


def _direction(value: float, median: float) -> str:
    return "high" if value > median else "low" if value < median else "median"


def _plain(x: float):
    x = float(x)
    return int(x) if x.is_integer() else round(x, 4)
