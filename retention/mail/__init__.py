"""Outbound email: the outbound_emails rows, SMTP or the outbox folder, opt-outs and unsubscribe links."""
