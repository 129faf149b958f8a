"""duplicate_referral: the candidate was already known to the company when this referral came in,
so this referral does not own the bounty."""
from detectors.base import SqlRuleDetector


class DuplicateReferralDetector(SqlRuleDetector):
    pattern = "duplicate_referral"
    sql_file = "rules/duplicate_referral.sql"
    flags_follow = "candidate_person"  # each flag reads only its candidate person's rows
