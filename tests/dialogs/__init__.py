"""Tests for dialogs."""
