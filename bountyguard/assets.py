"""The Airflow asset that links the screening DAG (producer) to the payout DAG (consumer).

Defined once, here, and imported by both DAG files: an asset is matched by its name/URI, so a typo in
a second definition would silently break the link (the payout DAG would never be triggered).

`referral_screening`'s `publish` task declares it as an outlet, so an asset event is emitted only when
that task succeeds, i.e. when a report was published. `payout_release` is scheduled on it.
"""
from __future__ import annotations

from airflow.sdk import Asset

#: A published bountyguard report (report.json, decisions, release batch) under `<db stem>.published/`.
BOUNTYGUARD_REPORT = Asset(name="bountyguard_report", uri="bountyguard://report")

__all__ = ["BOUNTYGUARD_REPORT"]
