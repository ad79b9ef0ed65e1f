"""Complaints: intake, customer type, priority, solution and verification, trends."""
