"""self_referral: the referrer and the referred candidate are the same person."""
from detectors.base import SqlRuleDetector


class SelfReferralDetector(SqlRuleDetector):
    pattern = "self_referral"
    sql_file = "rules/self_referral.sql"
