"""shared_payout_account: several referrer accounts pay out to the same bank account."""
from detectors.base import SqlRuleDetector


class SharedPayoutAccountDetector(SqlRuleDetector):
    pattern = "shared_payout_account"
    sql_file = "rules/shared_payout_account.sql"
    flags_follow = "payout_accounts"  # each flag reads one referrer person's accounts and their groups
