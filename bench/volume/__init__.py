"""Volume fixtures: a big tenant (issue 17's 10,000 conversations, 200 workflows, 300,000
gateway calls over 30 days and their per-minute metrics) and a small one on the same
database, made with the app's own services and rollup. See `python -m bench.volume --help`.
"""
