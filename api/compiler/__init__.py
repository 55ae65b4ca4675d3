"""Seed 000's AI gateway and compiler: generate and enhance workflows, generate a service
definition, and the seed-compatible compile and validate."""
