"""Tests for platforms."""
