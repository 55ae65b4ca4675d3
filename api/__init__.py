"""The public API: tenant API keys, and the endpoints programs call with them.

The top layer: it may import every other app; nothing imports it.
"""
