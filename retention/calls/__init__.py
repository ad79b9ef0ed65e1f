"""Follow-up calls for onboarding staff: the call queue, outcomes, retries and silence."""
