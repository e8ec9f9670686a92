"""CSAT surveys: a native WhatsApp rating after resolution, with comment, skips and quiet hours."""
