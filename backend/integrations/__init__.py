"""Integrations: API keys for business systems, their messages, and signed outgoing webhooks."""
