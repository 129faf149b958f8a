"""Case review for risk analysts: cases per person from a published run, the web app, the users.

- `snapshot`: what a published run carries for the review (Parquet files under `<run>/review/`),
  written by the publish step and read by everything here; the working DuckDB file is never opened.
- `store`: the review store, a SQLite file beside the ledger (`<db stem>.review.sqlite`): users,
  sessions, case decisions and the audit trail of decisions and case views.
- `cases`: the queue, a case, what a decision changes, and recording it (case decision + the payout
  decisions in the ledger's analyst trail that the next screening run and the payout job honour).
- `web`: the FastAPI app (`bountyguard serve`); `cli`: `bountyguard users ...`, `cases ...`, `serve`.
"""
