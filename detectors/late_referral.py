"""late_referral: the referral came after the hire was agreed, or implausibly close before it."""
from detectors.base import SqlRuleDetector


class LateReferralDetector(SqlRuleDetector):
    pattern = "late_referral"
    sql_file = "rules/late_referral.sql"
    flags_follow = "referral_facts"  # one flag per row, by its key
