"""Pulse surveys in chat: templates, launching, answering, results."""
