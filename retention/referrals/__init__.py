"""Value-matched referral incentives."""
