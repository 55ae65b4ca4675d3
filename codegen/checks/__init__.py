"""The deterministic checks of generated code: pure Python, no Django, safe on hostile input.

`paths` (is a path safe to write), `plan` (is a proposed plan usable), `interfaces` (what a
file offers the files that depend on it), `files` (one file: parses, lints, imports
resolve), `consistency` (the files against each other and against the plan).
"""
