"""The LLM provider gateway: provider kinds, routing, breaker, quotas, logs and costs."""
