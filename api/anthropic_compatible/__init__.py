"""Anthropic-compatible gateway routes: /v1/messages."""
