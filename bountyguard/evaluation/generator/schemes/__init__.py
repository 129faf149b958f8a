"""One module per abuse scheme, as detectors/ has one detector per pattern: each `inject(world)` adds
the scheme's people and events to the world and labels them. Their order is part of the seed's
stream of random draws (the same seed gives the same bytes)."""
from bountyguard.evaluation.generator.schemes import (
    anomaly,
    duplicate_referral,
    job_hopping,
    late_referral,
    referral_ring,
    self_referral,
    serial_rereferral,
    shared_payout_account,
    velocity_spike,
)

# the schemes of the default data set, in the order they draw from the random stream; `anomaly`
# (rule-free abusers) is optional and draws from a stream of its own
IN_ORDER = (serial_rereferral, job_hopping, self_referral, shared_payout_account, referral_ring,
            duplicate_referral, late_referral, velocity_spike)

__all__ = ["IN_ORDER", "anomaly"]
