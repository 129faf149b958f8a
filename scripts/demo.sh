#!/usr/bin/env bash
# The main job on the embedded default, from nothing: install, generate demo data, screen it with the
# referral_screening DAG through Airflow (SQLite metadata in var/airflow), pay the clean report's
# release decisions with the payout_release DAG, export the contract's files and score the run.
set -euo pipefail
cd "$(dirname "$0")/.."
AS_OF="${AS_OF:-2026-06-30}"
DEMO="$PWD/var/demo"

bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"

# Reports are signed (bountyguard/signing.py) and matching keys hashed (bountyguard/matching_keys.py):
# the demo's keys are generated once into var/, readable by their owner only, and never committed
# (var/ is not in git). Production sets BOUNTYGUARD_REPORT_KEYS and BOUNTYGUARD_MATCHING_KEYS itself.
demo_key() {  # demo_key VARIABLE FILE: export VARIABLE from FILE, made on first use, unless already set
    if [ -z "${!1:-}" ]; then
        mkdir -p var
        if [ ! -s "$2" ]; then
            (umask 077 && python -c 'import secrets; print("demo1:" + secrets.token_hex(32))' > "$2")
        fi
        chmod 600 "$2"
        export "$1=$(cat "$2")"
    fi
}
demo_key BOUNTYGUARD_REPORT_KEYS var/report.keys
demo_key BOUNTYGUARD_MATCHING_KEYS var/matching.keys

rm -rf "$DEMO"
bountyguard generate --out "$DEMO" --seed 7 --scale 1 --as-of "$AS_OF"

# a project-local Airflow: var/airflow (SQLite), this repository's dags/, the duckdb_writer pool
eval "$(python -m bountyguard.airflow_env var/airflow)"
export BOUNTYGUARD_LANDING="$DEMO/landing" BOUNTYGUARD_DB="$DEMO/bountyguard.duckdb"

echo "== screening through Airflow: airflow dags test referral_screening $AS_OF"
airflow dags test referral_screening "$AS_OF" > "$DEMO/referral_screening.log" 2>&1 \
    || { tail -n 40 "$DEMO/referral_screening.log"; echo "referral_screening failed: $DEMO/referral_screening.log" >&2; exit 1; }
echo "== paying the clean report through Airflow: airflow dags test payout_release $AS_OF"
airflow dags test payout_release "$AS_OF" > "$DEMO/payout_release.log" 2>&1 \
    || { tail -n 40 "$DEMO/payout_release.log"; echo "payout_release failed: $DEMO/payout_release.log" >&2; exit 1; }

bountyguard export --db "$BOUNTYGUARD_DB" --out "$DEMO/export"
if [ -f ../shared/tools/check_export.py ]; then  # the contract's own checker, where it is at hand
    python ../shared/tools/check_export.py --landing "$DEMO/landing" --export "$DEMO/export" --as-of "$AS_OF"
fi
bountyguard evaluate --db "$BOUNTYGUARD_DB" --truth "$DEMO/truth"

cat <<MSG

Done.
  report:        $(cat "$DEMO/bountyguard.published/LATEST" | sed "s|^|$DEMO/bountyguard.published/|")/report.json
  exports:       $DEMO/export (report.json, flags.csv, payout_decisions.csv, identities.csv, ledger.csv)
  payments made: $DEMO/bountyguard.payments/instructions.jsonl
  Airflow logs:  $DEMO/referral_screening.log, $DEMO/payout_release.log
MSG
