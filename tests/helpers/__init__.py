"""Shared test helpers (fixture builders)."""
