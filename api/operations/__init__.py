"""What operators and their tools call: /health in seed 000's shape and /metrics."""
