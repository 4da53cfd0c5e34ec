"""Tests for http."""
