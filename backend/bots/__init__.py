"""Triage bots: YAML flows per channel that greet, ask, collect and hand off to a team's queue."""
