"""OpenAI-compatible gateway routes: /v1/chat/completions, /v1/models, /v1/embeddings."""
