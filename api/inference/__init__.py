"""Seed 004's inference API: infer, status, result, an SSE stream and a WebSocket."""
