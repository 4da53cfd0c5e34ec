"""BTS-bot process: platforms (Slack, Teams, web chat, terminal), the aiohttp server, CLI and config.

Only modules in this package may import slack_bolt or botbuilder; the core (``dialogs``) never does.
"""
