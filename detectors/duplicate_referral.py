"""duplicate_referral: the candidate was already known to the company when this referral came in,
so this referral does not own the bounty."""
from detectors.base import SqlRuleDetector


class DuplicateReferralDetector(SqlRuleDetector):
    pattern = "duplicate_referral"
    sql_file = "rules/duplicate_referral.sql"

    def __init__(self, ownership_window_days: int = 0):
        super().__init__(ownership_window_days=ownership_window_days)
