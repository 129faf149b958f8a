"""anomaly: an unsupervised outlier score over behaviour features, a ranking for analysts' review.

Rules catch the schemes somebody wrote down; this score ranks behaviour nobody wrote a rule for.
Per referrer person and per candidate person, DuckDB builds a small table of behaviour features as of
the run date (sql/features/referrer_behaviour.sql, candidate_behaviour.sql). Only that table, one row
per person, goes to numpy; the raw history stays in DuckDB.

A small ensemble of fast, linear-time PyOD models scores it: ECOD and COPOD (empirical tail
probabilities per feature, parameter-free) and HBOS (histograms), optionally IForest with a fixed seed.
Each model's scores become ranks scaled to 0..1 (raw scores of different models are not comparable),
and the person's score is their mean. The top `top_share` of the population the model was fitted on
gives a cut-off score; whoever scores at least that is flagged (a tie at the cut-off is flagged whole).

Explanations come from ECOD/COPOD: both sum a per-feature outlier score, -ln(empirical tail
probability) of the person's value (their `O` matrix), so the features with the largest terms are the
ones that make the person unusual. Evidence names them with the person's value and the population
median. 3.0 means about 1 in 20 people are as extreme on that feature; 4.6 about 1 in 100.

An anomaly is a lead for review, not a finding: severity is `low` (the decision step holds payouts
only for medium/high), `medium` only above an explicitly configured `hold_threshold`.

The model is kept between runs (sql/schema/anomaly.sql), as identity resolution keeps its Splink
model: it is fitted on a schedule (`refit_days`) or when the population has grown or shrunk by more
than `refit_after_growth`, on every person up to `reference_size` (above it, a fixed sample), and the
share to flag becomes a score cut-off at the fit. Every person's score is kept with a hash of the
features it came from; a run scores again only the persons whose features changed (the day's rows,
merged and split persons, windows that moved), so a daily run does not fit on ten million persons.
To find them, a daily run whose feature tables were rebuilt on the run the scores are of compares
only the persons whose rows it rebuilt (bountyguard/incremental.py); any other run compares every
person's hash (anomaly_state says which run the scores are of).
A score is a function of the person's features and the model alone, so a run that scores everyone
against the same model flags the same persons. So is a flag's explanation: a person scoring at or
above the flag bar keeps it beside the score (anomaly_explanations, as JSON text), and each run's
flags are put together in SQL with the day's rank, population and record ids, without scoring any
flagged person again.
While anomaly flags can hold payouts (`hold_threshold` at most 1) the model is fitted again every
run: what holds money then depends on the day's data only.
"""
from __future__ import annotations

import json
import logging
import math
from importlib.metadata import version

import duckdb
import numpy as np
import pyarrow as pa

from bountyguard.errors import ConfigError
from bountyguard.incremental import PERSONS
from detectors.base import Detector

log = logging.getLogger(__name__)

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

# entity type (also the person-record type; the evidence lists the records as "<entity>_ids") ->
# its feature table
ENTITIES = {"referrer": "referrer_behaviour", "candidate": "candidate_behaviour"}
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
    hbos_bins, iforest_estimators, random_state: model settings (IForest's seed is fixed);
    refit_days: the model is fitted again once it is this many days old (0: every run);
    refit_after_growth: ... or once the population moved by more than this share of the one it was
      fitted on;
    reference_size: the model is fitted on at most this many persons (a fixed sample above it).

    Learned state after `detect`: scores_ and model_scores_ (entity -> scores of the persons scored
    in this run: everyone when the model was fitted, else those whose features changed), refitted_,
    n_scored_, compared_ (whose features were compared with their kept score: "every person", or
    "rebuilt persons" on a daily run's kept feature tables), feature_names_, n_persons_, n_flags_.
    """

    pattern = "anomaly"
    follows_features = True  # a daily run compares only the persons whose behaviour rows it rebuilt

    def check_params(self) -> None:
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ConfigError(f"[anomaly] models: choose from {', '.join(MODELS)} (got {list(self.models)})")
        if [e for e in self.entities if e not in ENTITIES]:
            raise ConfigError(f"[anomaly] entities: choose from {', '.join(ENTITIES)} (got {list(self.entities)})")
        if not 0 <= self.top_share <= 1:
            raise ConfigError("[anomaly] top_share must be between 0 and 1")
        if self.refit_days < 0 or self.refit_after_growth < 0:
            raise ConfigError("[anomaly] refit_days and refit_after_growth must not be negative")
        if self.reference_size < 2:
            raise ConfigError("[anomaly] reference_size must be at least 2")

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
        return tuple(ENTITIES[entity] for entity in self.params["entities"])

    def _feature_names(self, con, entity: str) -> list[str]:
        table = ENTITIES[entity]
        names = list(FEATURES[entity])
        known = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"anomaly.{entity}_features: {table} has no column(s) {', '.join(missing)}")
        return names

    @staticmethod
    def _matrix(cols: dict, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Person ids and their feature values, NaN where the feature table says NULL (not measured)."""
        persons = np.asarray(cols["person_id"], dtype=object)
        X = np.column_stack([np.ma.filled(np.ma.asarray(cols[n], dtype=np.float64), np.nan) for n in names]) \
            if len(persons) else np.empty((0, len(names)))
        return persons, X

    # -- scoring ----------------------------------------------------------------------------------------
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

    def fingerprint(self, names: list[str]) -> str:
        """Everything a kept model and its kept scores depend on: a change to any of it refits."""
        # "missing": how values nobody measured are filled; a model kept by a version that filled them
        # otherwise is fitted again
        return json.dumps({"params": self.params, "features": names, "missing": "medians fitted with the model",
                           # the flag's evidence parts are kept beside the scores (a model kept by a
                           # version that kept none is fitted again, and every person scored)
                           "evidence": "kept in anomaly_explanations",
                           "pyod": version("pyod"),
                           "numpy": np.__version__, "duckdb": duckdb.__version__}, sort_keys=True, default=str)

    @property
    def stats_(self) -> dict:
        """Per population after `detect`: whether the model was fitted or kept, how many persons were
        scored and how many there are (the detect step's result, in the run's log and the bench)."""
        return {entity: {"model": "fitted" if self.refitted_[entity] else "kept",
                         "compared": self.compared_[entity],
                         "scored_persons": self.n_scored_[entity], "persons": self.n_persons_[entity]}
                for entity in self.refitted_}

    # -- the detector -----------------------------------------------------------------------------------
    def detect(self, con: duckdb.DuckDBPyConnection, base: dict | None = None) -> list[tuple]:
        """`base`: the run the kept feature tables were built on this run (bountyguard/incremental.py
        `start`), whose changed-person tables this run's connection holds; None: they were built in
        full, and every person's features are compared with their kept score."""
        from bountyguard.db import run_sql_file

        run_sql_file(con, "schema/anomaly.sql")  # (a file written by an older version lacks these tables)
        self.scores_, self.model_scores_, self.feature_names_, self.n_persons_ = {}, {}, {}, {}
        self.refitted_, self.n_scored_, self.compared_ = {}, {}, {}
        rows = []
        for entity in self.params["entities"]:
            rows += self._detect_entity(con, entity, base)
        self.n_flags_ = len(rows)
        return rows

    def _detect_entity(self, con, entity: str, base: dict | None) -> list[tuple]:
        table = ENTITIES[entity]
        names = self._feature_names(con, entity)
        self.feature_names_[entity] = names
        self.n_persons_[entity] = n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        self.scores_[entity], self.model_scores_[entity], self.n_scored_[entity] = {}, {}, 0
        self.refitted_[entity], self.compared_[entity] = False, "every person"
        if n < max(2, self.params["min_population"]):  # "unusual" among a handful of people means nothing
            forget_model(con, entity)
            return []
        fingerprint = self.fingerprint(names)
        kept = _kept_model(con, entity)
        as_of = con.execute("SELECT as_of FROM run_context").fetchone()[0]
        if not self._model_still_valid(kept, fingerprint, as_of, n):
            self._fit(con, entity, names, fingerprint, as_of, n)
            kept = _kept_model(con, entity)
            self.refitted_[entity] = True
        medians = np.asarray(kept[4], dtype=np.float64)
        bar = max(kept[3], self.params["min_score"])
        changed = self._changed_persons(con, entity, kept, base)
        con.execute("DELETE FROM anomaly_state WHERE entity = ?", [entity])  # back once every score is stored
        self._score_changed(con, entity, names, medians, bar, changed)
        run_id = con.execute("SELECT run_id FROM run_context").fetchone()[0]
        con.execute("INSERT INTO anomaly_state SELECT ?, ?, ?, ?, count(*) FROM anomaly_scores WHERE entity = ?",
                    [entity, run_id, kept[0], kept[1], entity])
        log.info("anomaly %s: model %s (fitted as of %s), %d of %d persons scored", entity,
                 "fitted" if self.refitted_[entity] else "kept", kept[1], self.n_scored_[entity], n)
        return self._flags(con, entity, n, bar)

    def _model_still_valid(self, kept, fingerprint: str, as_of, n: int) -> bool:
        if kept is None or kept[0] != fingerprint or self.holding_score is not None:
            return False
        fitted_as_of, population = kept[1], kept[2]
        age = (as_of - fitted_as_of).days
        return (0 <= age < self.params["refit_days"]
                and abs(n - population) <= self.params["refit_after_growth"] * population)

    def _fit(self, con, entity: str, names: list[str], fingerprint: str, as_of, n: int) -> None:
        """Fit on every person (a fixed sample by hashed person id above `reference_size`), store the
        reference rows and the model; the kept scores go with the old model. The model row leaves
        first and comes back last: a fit interrupted halfway leaves no model, and the next run fits.
        The medians of the measured values at the fit stand in for values nobody could measure, in
        the fit and in every later scoring under this model: the middle of both tails, so a missing
        measurement never makes anyone look odd, and a person's score never depends on today's
        population (the feature tables leave them NULL)."""
        table = ENTITIES[entity]
        cols = con.execute(
            f"SELECT person_id, {', '.join(names)} FROM "
            f"(SELECT * FROM {table} ORDER BY md5(person_id), person_id LIMIT ?) ORDER BY person_id",
            [self.params["reference_size"]]).fetchnumpy()
        persons, X = self._matrix(cols, names)
        medians = _measured_medians(X)
        X = _filled(X, medians)
        reference = Reference(X, self)
        combined, _, _ = reference.score(X)
        # the top share of the population at the fit, as a score: who scores at least this is flagged
        k = math.floor(self.params["top_share"] * len(persons))
        cutoff = float(np.sort(combined)[::-1][k - 1]) if k >= 1 else 2.0  # 2.0: above every score
        forget_model(con, entity)
        con.register("anomaly_fitted", pa.table({"person_id": pa.array(persons.tolist(), pa.string()),
                                                 "features": pa.array(X.tolist(), pa.list_(pa.float64()))}))
        con.execute("INSERT INTO anomaly_reference SELECT ?, person_id, features FROM anomaly_fitted", [entity])
        con.unregister("anomaly_fitted")
        con.execute("INSERT INTO anomaly_model VALUES (?, ?, ?, ?, ?, ?)",
                    [entity, fingerprint, as_of, n, cutoff, medians.tolist()])

    def _load_reference(self, con, entity: str) -> "Reference":
        # every run loads the reference (up to `reference_size` rows): as one column of numbers, not a
        # Python list per row (at 100,000 rows per population that took seconds a run, at any size)
        rows, width, widest = con.execute(
            "SELECT count(*), coalesce(min(len(features)), 0), coalesce(max(len(features)), 0) "
            "FROM anomaly_reference WHERE entity = ?", [entity]).fetchone()
        if width != widest:
            raise ValueError(f"anomaly_reference ({entity}): rows of different lengths")
        values = con.execute(
            "SELECT value FROM (SELECT person_id, generate_subscripts(features, 1) AS position, "
            "unnest(features) AS value FROM anomaly_reference WHERE entity = ?) ORDER BY person_id, position",
            [entity]).fetchnumpy()["value"]
        values = np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan)
        return Reference(values.reshape(rows, width), self)

    def _changed_persons(self, con, entity: str, kept: tuple, base: dict | None) -> str | None:
        """The temp table of the persons whose feature rows this run rebuilt (bountyguard/incremental.py
        PERSONS), when the kept scores are those of the feature rows of the run they were rebuilt on:
        every other person's row is that run's, and so is their score. None: compare every person.
        The state (anomaly_state) names that run, the model and the number of scores. Whatever else
        changes the scores moves one of them or the state: a scoring that stopped halfway left no
        state; a refit or `forget` drops it; any later run that scored (an earlier version's too)
        built the feature tables first, so it is the base now, not the state's run."""
        if base is None:
            return None
        state = con.execute("SELECT run_id, fingerprint, fitted_as_of, scores FROM anomaly_state WHERE entity = ?",
                            [entity]).fetchall()
        scores = con.execute("SELECT count(*) FROM anomaly_scores WHERE entity = ?", [entity]).fetchone()[0]
        if state != [(base["base_run_id"], kept[0], kept[1], scores)]:
            return None
        self.compared_[entity] = "rebuilt persons"
        return PERSONS[ENTITIES[entity]]

    def _score_changed(self, con, entity: str, names: list[str], medians: np.ndarray, bar: float,
                       changed: str | None) -> None:
        """Score the persons without a kept score, or whose features no longer hash the same; forget
        the scores of persons that are gone (merged into another, or erased). Only the persons in the
        table `changed` (_changed_persons), when given, can be either. A person scoring at least `bar`
        (the flag bar) keeps their flag's evidence parts with the score (_explanations)."""
        table = ENTITIES[entity]
        features_hash = f"hash({', '.join(f'f.{n}' for n in names)})"
        # (person_id is never NULL: without `changed`, every person)
        within = f"person_id IN (SELECT person_id FROM {changed})" if changed else "person_id IS NOT NULL"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE anomaly_changed AS
            SELECT f.person_id, {features_hash} AS features_hash,
                   row_number() OVER (ORDER BY f.person_id) AS position, {', '.join(f'f.{n}' for n in names)}
            FROM (SELECT * FROM {table} WHERE {within}) AS f
            LEFT JOIN (SELECT * FROM anomaly_scores WHERE entity = $entity AND {within}) AS s
              ON s.person_id = f.person_id
            WHERE s.person_id IS NULL OR s.features_hash <> {features_hash}
            """, {"entity": entity})
        for kept in ("anomaly_scores", "anomaly_explanations"):
            con.execute(
                f"""
                DELETE FROM {kept} AS s
                WHERE s.entity = $entity AND s.{within}
                  AND (s.person_id IN (SELECT person_id FROM anomaly_changed)
                       OR NOT EXISTS (SELECT 1 FROM {table} AS f WHERE f.person_id = s.person_id))
                """, {"entity": entity})
        changed = con.execute("SELECT count(*) FROM anomaly_changed").fetchone()[0]
        self.n_scored_[entity] = changed
        # the reference is fitted only when somebody is scored (it takes a second at any size)
        reference = self._load_reference(con, entity) if changed else None
        keep_in_memory = changed <= self.params["reference_size"]  # scores_ is for inspection, not 10M dicts
        for start in range(0, changed, SCORING_CHUNK):
            cols = con.execute(
                f"SELECT person_id, features_hash, {', '.join(names)} FROM anomaly_changed "
                "WHERE position > ? AND position <= ? ORDER BY position", [start, start + SCORING_CHUNK]).fetchnumpy()
            persons, X = self._matrix(cols, names)
            combined, per_model, tails = reference.score(_filled(X, medians))
            parts = self._explanations(X, medians, names, combined, per_model, tails, bar)
            con.register("anomaly_scored", pa.table({
                "person_id": pa.array(persons.tolist(), pa.string()),
                "features_hash": pa.array(np.asarray(cols["features_hash"], dtype=np.uint64)),
                "score": pa.array(combined, pa.float64()),
                **{column: pa.array(values, pa.float64() if column == "flag_score" else pa.string())
                   for column, values in parts.items()}}))
            con.execute("INSERT INTO anomaly_scores (entity, person_id, features_hash, score) "
                        "SELECT ?, person_id, features_hash, score FROM anomaly_scored", [entity])
            con.execute(f"INSERT INTO anomaly_explanations (entity, person_id, {', '.join(parts)}) "
                        f"SELECT ?, person_id, {', '.join(parts)} FROM anomaly_scored WHERE flag_score IS NOT NULL",
                        [entity])
            con.unregister("anomaly_scored")
            if keep_in_memory:
                self.scores_[entity].update(zip(persons.tolist(), combined.round(6).tolist()))
                for m, s in per_model.items():
                    self.model_scores_[entity].setdefault(m, {}).update(zip(persons.tolist(), s.tolist()))
        con.execute("DROP TABLE anomaly_changed")

    def _explanations(self, X: np.ndarray, medians: np.ndarray, names: list[str], combined: np.ndarray,
                      per_model: dict[str, np.ndarray], tails: np.ndarray, bar: float) -> dict[str, list]:
        """The parts of a flag's evidence that depend on the person's features and the model alone
        (anomaly_explanations), as JSON text, for the persons scoring at least `bar` (None for the
        others): the flag's score, each model's score, and the features that make the person unusual
        (the largest ECOD/COPOD tail terms) with the person's value and the median at the fit."""
        parts = {column: [None] * len(X) for column in ("flag_score", "score_json", "model_scores_json",
                                                          "top_features_json")}
        # a fit scores every person; only the few above the bar are explained
        explained = np.flatnonzero(combined >= bar)
        top_features = np.argsort(-tails[explained], axis=1, kind="stable")[:, : self.params["explain_top"]]
        for i, top in zip(explained, top_features):
            score = round(float(combined[i]), 4)
            parts["flag_score"][i] = score
            parts["score_json"][i] = json.dumps(score)
            parts["model_scores_json"][i] = json.dumps(
                {m: round(float(s[i]), 4) for m, s in per_model.items()}, sort_keys=True)
            parts["top_features_json"][i] = json.dumps([
                {
                    "feature": names[j],
                    "value": None if np.isnan(X[i, j]) else _plain(X[i, j]),  # not measured
                    "population_median": _plain(medians[j]),
                    "direction": _direction(X[i, j], medians[j]),
                    # -ln(empirical tail probability), averaged over ECOD/COPOD
                    "tail_score": round(float(tails[i, j]), 3),
                }
                for j in top
            ], sort_keys=True)
        return parts

    def _flags(self, con, entity: str, n: int, bar: float) -> list[tuple]:
        """The population's flags, put together in SQL from the evidence parts kept beside the
        scores (sql/anomaly/flags.sql)."""
        from bountyguard.db import sql_text

        rows = con.execute(sql_text("anomaly/flags.sql"), {
            "entity": entity, "bar": bar, "max_flags": self.flag_cap, "hold_threshold": self.holding_score,
            "population": str(n), "features_table": json.dumps(ENTITIES[entity]),
            "flagged_share": json.dumps(self.params["top_share"])}).fetchall()
        unexplained = [row[2] for row in rows if row[5] is None]
        if unexplained:
            # kept scores and their evidence disagree (the file was changed by hand, or by another
            # version without a refit): no flag is made up, the run fails
            raise ValueError(f"anomaly ({entity}): {len(unexplained)} kept score(s) above the flag bar have no "
                             "kept evidence (anomaly_explanations); DELETE FROM anomaly_model fits the model again")
        return rows


# persons scored per batch: bounds the memory of a first load's scoring of every person
SCORING_CHUNK = 500_000


def _kept_model(con, entity: str) -> tuple | None:
    """(fingerprint, fitted_as_of, population, cutoff, medians) of the population's kept model."""
    return con.execute("SELECT fingerprint, fitted_as_of, population, cutoff, medians FROM anomaly_model "
                       "WHERE entity = ?", [entity]).fetchone()


def forget_model(con, entity: str | None = None) -> None:
    """Drop the kept model, reference and scores (of one population, or all): the next run fits.
    `bountyguard forget` drops all of it: the reference holds the features of the forgotten person."""
    for table in ("anomaly_model", "anomaly_reference", "anomaly_scores", "anomaly_explanations", "anomaly_state"):
        if entity is None:
            con.execute(f"DELETE FROM {table}")
        else:
            con.execute(f"DELETE FROM {table} WHERE entity = ?", [entity])


class Reference:
    """The ensemble fitted on a reference population; it scores any person on their own.

    PyOD's ECOD and COPOD score new rows by fitting again on the training rows together with the new
    ones (`decision_function` concatenates them), so a person's score would depend on who else is
    scored in the same call, and a daily run could not score only the persons who changed. Here their
    terms (the empirical tail probabilities, and the skewness sign that chooses between them) come
    from the reference alone, computed as PyOD computes them: for the reference's own rows the raw
    scores equal PyOD's `decision_scores_` (tests/detectors/test_anomaly.py holds them equal), and
    any other person is placed in the same fixed distribution. HBOS and IForest are PyOD's fitted
    models, which score new rows on their own already. Each model's score becomes the person's rank
    among the reference's scores, scaled to (0, 1], as scipy's rankdata ranks the reference itself.
    """

    def __init__(self, X: np.ndarray, detector: AnomalyDetector):
        from pyod.models import copod, ecod

        Z = _signed_log(X)
        n, d = Z.shape
        self.models_ = tuple(detector.params["models"])
        self.sorted_low_ = np.sort(Z, axis=0)
        self.sorted_high_ = np.sort(-Z, axis=0)
        # column_ecdf's probabilities (pyod.utils.stat_models): the k-th smallest value's is this array's
        # k-th row, to the bit
        self.probabilities_ = np.linspace(np.ones(d) / n, np.ones(d), n)
        self.skew_sign_ = {"ecod": np.sign(ecod.skew(Z, axis=0)), "copod": np.sign(copod.skew(Z, axis=0))}
        self.fitted_ = {}
        for name in self.models_:
            if name in ("hbos", "iforest"):
                self.fitted_[name] = detector._model(name).fit(Z)
        raw, _ = self._raw(Z)
        self.reference_scores_ = {name: np.sort(np.nan_to_num(s, nan=0.0)) for name, s in raw.items()}

    def _tail_terms(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-ln of the left and right empirical tail probabilities of each value in the reference."""
        n = self.sorted_low_.shape[0]
        U_l, U_r = np.empty_like(Z), np.empty_like(Z)
        for j in range(Z.shape[1]):
            at_most = np.searchsorted(self.sorted_low_[:, j], Z[:, j], side="right")
            at_least = np.searchsorted(self.sorted_high_[:, j], -Z[:, j], side="right")
            # a value beyond the reference's extremes is as rare as its rarest value (never probability 0)
            U_l[:, j] = -1 * np.log(self.probabilities_[np.clip(at_most, 1, n) - 1, j])
            U_r[:, j] = -1 * np.log(self.probabilities_[np.clip(at_least, 1, n) - 1, j])
        return U_l, U_r

    def _raw(self, Z: np.ndarray) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        """Each model's raw outlier score (PyOD's orientation: higher is more unusual) and the per-feature
        terms of ECOD/COPOD that explain them."""
        raw, tails = {}, []
        U_l = U_r = None
        wanted = set(self.models_) | ({"ecod"} if not set(self.models_) & set(EXPLAINING_MODELS) else set())
        if wanted & {"ecod", "copod"}:
            U_l, U_r = self._tail_terms(Z)
        for name in ("ecod", "copod"):
            if name not in wanted:
                continue
            skewness = self.skew_sign_[name]
            # as in PyOD's ECOD/COPOD.decision_function, to the bit
            U_skew = U_l * -1 * np.sign(skewness - 1) + U_r * np.sign(skewness + 1)
            if name == "ecod":
                O = np.maximum(np.maximum(U_l, U_r), U_skew)
            else:
                O = np.maximum(U_skew, np.add(U_l, U_r) / 2)
            tails.append(np.nan_to_num(O, nan=0.0))
            if name in self.models_:
                raw[name] = O.sum(axis=1).ravel()
        for name in self.models_:
            if name in self.fitted_:
                raw[name] = self.fitted_[name].decision_function(Z)
        return {name: raw[name] for name in self.models_}, tails

    def score(self, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Combined 0..1 score per row, each model's score as a rank among the reference's, and the
        per-feature tail scores (n x d) that explain them."""
        Z = _signed_log(X)
        raw, tails = self._raw(Z)
        per_model = {name: _rank_in(self.reference_scores_[name], np.nan_to_num(s, nan=0.0))
                     for name, s in raw.items()}
        combined = np.mean(np.vstack(list(per_model.values())), axis=0) if len(Z) else np.empty(0)
        return combined, per_model, np.mean(tails, axis=0)


def _signed_log(X: np.ndarray) -> np.ndarray:
    """A signed log keeps the order (ECOD/COPOD only use ranks) and tames the long tails of counts and
    durations for the models that use distances or equal-width bins (HBOS, IForest)."""
    return np.sign(X) * np.log1p(np.abs(X))


def _rank_in(reference_sorted: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each score's rank among the reference's scores, scaled to (0, 1]: for a score of the reference
    itself exactly its average rank / n (as scipy's rankdata(method="average") / n); a score the
    reference does not hold ranks half a place above the scores below it."""
    below = np.searchsorted(reference_sorted, scores, side="left")
    at_most = np.searchsorted(reference_sorted, scores, side="right")
    return np.minimum((below + (at_most - below + 1) / 2) / len(reference_sorted), 1.0)


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


def _measured_medians(X: np.ndarray) -> np.ndarray:
    """Each feature's median over the persons who have a value (0 where nobody has one)."""
    return np.array([float(np.median(c[~np.isnan(c)])) if (~np.isnan(c)).any() else 0.0 for c in X.T])


def _filled(X: np.ndarray, medians: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(X), medians, X) if len(X) else X


def _direction(value: float, median: float) -> str:
    if np.isnan(value):
        return "not measured"
    return "high" if value > median else "low" if value < median else "median"


def _plain(x: float):
    x = float(x)
    return int(x) if x.is_integer() else round(x, 4)
