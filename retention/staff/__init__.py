"""Staff accounts, roles, API tokens and login."""
