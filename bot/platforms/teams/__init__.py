"""Microsoft Teams: Bot Framework intake, Adaptive Card rendering, proactive sending."""
