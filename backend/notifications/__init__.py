"""Agents' notifications: mentions, chats handed to them, SLA alarms, snoozed chats answered."""
