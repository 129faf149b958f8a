"""bountyguard: catch referral-bounty fraud and job-hopping before the money goes out."""

__version__ = "0.1.0"
