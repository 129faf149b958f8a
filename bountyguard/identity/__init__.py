"""Identity resolution: which referrer and candidate records belong to one real person.

Abusers vary their identities on purpose (transliterated names, e-mail aliases, reformatted phones), so
records are compared on normalised keys (normalize.py), not on raw values. Three kinds of evidence merge
records into one person:

1. an exact e-mail or profile-URL key (a mailbox or a profile belongs to one person), unless the two
   records contradict each other: other birth dates, or other cities with neither birth date nor phone
   agreeing (a namesake typed "their" address, a family shares a mailbox);
2. an exact phone (national number) or IBAN key together with a close name, or names of which one
   holds the other (a middle name left out), and birth dates that do not contradict each other (a phone
   alone may be a family's, an IBAN alone may be shared by sock puppets: that is the pattern
   shared_payout_account, not one person);
3. a probabilistic (Fellegi-Sunter) match of name, birth date and city, trained with Splink on the data
   itself, scored only within blocks so the number of comparisons stays near-linear. A different phone
   or e-mail counts against a match (an equal one is no evidence for it: a household shares its phone,
   and the exact rules above judge it). Pairs with a probability of at least match_threshold link;
   where a birth date is missing, at least match_threshold_without_birth_date (name and city alone are
   correlated evidence: Meier and Maier both live in Köln). Pairs that share a phone but whose names
   agree on at most one part, or whose birth dates contradict each other, never link: a household
   (twins, a father and his namesake son).

The links are clustered into connected components; a person's id is derived from its smallest record,
so identical inputs give identical ids. Everything runs inside DuckDB except the normalisers: only the
distinct raw values not seen before go to Python (in batches, in as many processes as there are cores),
and the tables never travel to Python as a whole.

Personal data never goes to logs: the statistics returned and logged are counts only.

State kept between runs, in the same database as the results (regular tables, so a daily run costs what
the day's new data costs):

- identity_key_hashes: the normalised key of every distinct raw value (name, e-mail, phone with its
  region and city, IBAN and its masked form, city, profile URL), versioned by normalize.KEYS_VERSION
  and the matching key id. A run normalises only values not cached yet; keys are a pure function of
  value, version and matching key, so results are the same as with a cold cache. Values no record
  holds any more are removed on each run. No raw value is stored: rows are found by the keyed hash of
  the raw value, and e-mail, phone and IBAN keys are keyed hashes themselves (matching_keys.py).
- identity_model: the trained Splink model (its settings JSON with the estimated parameters), the
  number of records it was trained on and a fingerprint of everything training depends on (model
  specification, training parameters, key version, Splink version). A run reuses it unless no model
  with that fingerprint is stored or the record count moved by more than retrain_after_growth of the
  trained count. **So a run's persons can depend on the stored model**: the model is part of the run's
  state, like the ledger. The same inputs with the same stored model give the same persons; the same
  inputs with an empty identity_model give the same persons as a fresh database. The term frequencies
  (a common name agrees by chance more often) are frozen with the model at training time
  (identity_model_term_frequencies), so a day's records do not shift the weight of every other pair.
- identity_resolution_state, identity_scored_records, identity_fuzzy_link_state: the last resolution
  (its fingerprint: the model with its term frequencies, the [identity] settings, key and library
  versions; a digest of each scored record's compared attributes and block keys; its probabilistic
  links). A run under the same fingerprint scores only pairs with a touched record (new, changed,
  removed, or with moved block keys) and keeps the other links, and the persons of every record
  whose published row or links changed are clustered again
  (identity_persons_state marks person_records and person_links as the last resolution's), so
  persons merge and split as a full resolution would. `resolve_persons(..., full=True)`
  and any other fingerprint resolve in full; `bountyguard reresolve` (reresolve.py) compares the two.
- identity_exact_state, identity_exact_records, identity_exact_link_state: the last resolution's
  exact links with hashes of each record's keys and a digest of what a link compares; a run pairs
  again only the key groups a touched record holds or held (sql/identity/exact_links.sql).
- identity_splink_rows, identity_token_counts, identity_input_state: the Splink input (compared
  attributes, rarest name part, capped block keys) with its name-part counts, updated by the records
  that changed instead of rebuilt from every record (kept_input.py).
- identity_changed_records: the ids of the records whose compared row may have changed since the
  last completed resolution (looked up again, removed, or with a rewritten rarest part or block key).
  Each kept state above, when valid, compares only these records with what it holds, not every
  record's digest; the list is emptied when a resolution completes, and kept when one stops halfway.

The package: `config.py` (the [identity] settings), `model.py` (the comparisons, blocking and the
Splink settings), `storage.py` (the trained model and its term frequencies kept between runs),
`kept_input.py` (the Splink input kept between runs), `resolve.py` (normalised keys, exact and
probabilistic links, clusters: `resolve_persons`) and
`reresolve.py` (a full resolution beside the incremental state). Its persistent tables are defined in
sql/schema/identity.sql.
"""
from bountyguard.identity.config import IdentityConfig
from bountyguard.identity.resolve import resolve_persons

__all__ = ["IdentityConfig", "resolve_persons"]
