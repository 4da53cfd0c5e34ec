"""The handlingsveileder guide: its content model, per-kommune overrides and the dialog."""
