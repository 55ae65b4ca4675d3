"""List prices of current Anthropic and OpenAI models, USD per million tokens.

Operators add newer rows (a later effective_from) in the admin when prices change; rows
are never edited, so old logs keep the price version they were costed with.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

READ_ON = date(2026, 11, 23)
ANTHROPIC_SOURCE = (
    "platform.claude.com/docs: models overview pages (Fable 5.1, Opus 5.5, Sonnet 5.5, Haiku 5.5, Opus 5) "
    "and about-claude/pricing, read 2026-11-23"
)
HAIKU_5_5_SOURCE = ANTHROPIC_SOURCE + "; the rate for prompts up to 100,000 tokens (longer prompts cost 5x)"
OPENAI_SOURCE = (
    "OpenAI API list prices (developers.openai.com/api/docs/pricing and OpenAI's GPT-5.6 preview post) "
    "as quoted by public price tables dated 2026-03 to 2026-11, read 2026-11-23; verify against the live page"
)

PRICES = [
    ("anthropic", "claude-fable-5-1", "10", "50", ANTHROPIC_SOURCE),
    ("anthropic", "claude-mythos-5-1", "10", "50", ANTHROPIC_SOURCE),
    ("anthropic", "claude-fable-5", "10", "50", ANTHROPIC_SOURCE),
    ("anthropic", "claude-opus-5-5", "4", "20", ANTHROPIC_SOURCE),
    ("anthropic", "claude-opus-5", "5", "25", ANTHROPIC_SOURCE),
    ("anthropic", "claude-sonnet-5-5", "2", "10", ANTHROPIC_SOURCE),
    ("anthropic", "claude-sonnet-5", "2", "10", ANTHROPIC_SOURCE),
    ("anthropic", "claude-haiku-5-5", "0.10", "0.50", HAIKU_5_5_SOURCE),
    ("anthropic", "claude-opus-4-8", "5", "25", ANTHROPIC_SOURCE),
    ("anthropic", "claude-opus-4-7", "5", "25", ANTHROPIC_SOURCE),
    ("anthropic", "claude-opus-4-6", "5", "25", ANTHROPIC_SOURCE),
    ("anthropic", "claude-opus-4-5", "5", "25", ANTHROPIC_SOURCE),
    ("anthropic", "claude-sonnet-4-6", "3", "15", ANTHROPIC_SOURCE),
    ("anthropic", "claude-sonnet-4-5", "3", "15", ANTHROPIC_SOURCE),
    ("anthropic", "claude-haiku-4-5", "1", "5", ANTHROPIC_SOURCE),
    ("openai", "gpt-6-sol", "2", "10", OPENAI_SOURCE),
    ("openai", "gpt-6-luna", "0.10", "0.50", OPENAI_SOURCE),
    ("openai", "gpt-5.6-sol", "5", "30", OPENAI_SOURCE),
    ("openai", "gpt-5.6-terra", "2.50", "15", OPENAI_SOURCE),
    ("openai", "gpt-5.6-luna", "1", "6", OPENAI_SOURCE),
    ("openai", "gpt-5.5", "5", "30", OPENAI_SOURCE),
    ("openai", "gpt-5.4", "2.50", "15", OPENAI_SOURCE),
    ("openai", "gpt-5", "1.25", "10", OPENAI_SOURCE),
    ("openai", "gpt-5-mini", "0.25", "2", OPENAI_SOURCE),
    ("openai", "gpt-5-nano", "0.05", "0.40", OPENAI_SOURCE),
    ("openai", "gpt-4.1", "2", "8", OPENAI_SOURCE),
    ("openai", "gpt-4.1-mini", "0.40", "1.60", OPENAI_SOURCE),
    ("openai", "gpt-4.1-nano", "0.10", "0.40", OPENAI_SOURCE),
    ("openai", "gpt-4o", "2.50", "10", OPENAI_SOURCE),
    ("openai", "gpt-4o-mini", "0.15", "0.60", OPENAI_SOURCE),
    ("openai", "text-embedding-3-small", "0.02", "0", OPENAI_SOURCE),
    ("openai", "text-embedding-3-large", "0.13", "0", OPENAI_SOURCE),
]


def seed(apps, schema_editor):
    ModelPrice = apps.get_model("providers", "ModelPrice")
    for kind, model, input_price, output_price, source in PRICES:
        ModelPrice.objects.get_or_create(
            kind=kind,
            model=model,
            effective_from=READ_ON,
            defaults={
                "input_per_mtok_usd": Decimal(input_price),
                "output_per_mtok_usd": Decimal(output_price),
                "source": source,
            },
        )


def unseed(apps, schema_editor):
    ModelPrice = apps.get_model("providers", "ModelPrice")
    for kind, model, *_rest in PRICES:
        ModelPrice.objects.filter(kind=kind, model=model, effective_from=READ_ON).delete()


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
