"""Shared pytest fixtures: simulation tops are built once per run (see sim/runner.py)."""
