"""Guided requirement conversations driven by blueprints."""
