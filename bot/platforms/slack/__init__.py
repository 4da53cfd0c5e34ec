"""Slack: Events API and Socket Mode intake, Block Kit rendering, Web API sending."""
