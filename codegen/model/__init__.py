"""The model writer: a generation's plan, files, fixes, review and docs asked of the gateway.

`writer.ModelWriter` implements `codegen.writers.Writer`; `prompts` builds what each call
says (user text only between data markers, inside a budget of characters), `budget` fits
the sections into it, `examples` picks the template generator's file as a few-shot example,
and `replies` reads what comes back.
"""
