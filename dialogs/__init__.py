"""The transport-neutral core: message model, turn router and dialogs with their YAML content.

Nothing in this package may import slack_bolt, slack_sdk or botbuilder (a test enforces it); platform
adapters in ``bot`` translate to and from the model defined in ``dialogs.messages``.
"""
