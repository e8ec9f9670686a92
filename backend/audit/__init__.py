"""The audit log: who did what, when, from where, with before and after (secrets redacted)."""
