"""Operations of the public API: /health and /metrics, and per-key rate limits with the
`x-ratelimit-*` headers of every key-authenticated answer."""
