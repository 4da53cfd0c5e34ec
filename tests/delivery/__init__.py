"""Tests for delivery."""
