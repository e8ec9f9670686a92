"""SLA clocks per conversation, the lead's wallboard and reports, and Prometheus metrics."""
