"""Seed 002's generation API: generate service code, read it, run its tests."""
