"""serial_rereferral: the same person placed again and again through referrals, each stint ending
shortly after its guarantee period (the bounty-farming scheme)."""
from detectors.base import SqlRuleDetector


class SerialRereferralDetector(SqlRuleDetector):
    pattern = "serial_rereferral"
    sql_file = "rules/serial_rereferral.sql"
    # each flag reads a (chained) candidate person's stints, or a referrer's placements of such candidates
    flags_follow = "chained_placements"
