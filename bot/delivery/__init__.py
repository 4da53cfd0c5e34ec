"""Proactive delivery: the outbox dispatcher, the Sender protocol and its outcomes, rate limits."""
