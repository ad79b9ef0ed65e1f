"""Signed inbound events: acceptance, the durable inbox and their processing."""
