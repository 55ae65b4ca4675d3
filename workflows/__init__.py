"""Workflow DSL, validation, compilation to Temporal code, editor and versions."""
