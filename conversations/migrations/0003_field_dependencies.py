"""Declared dependencies between blueprint fields (`based_on`), for blueprints stored before them.

Tenants' direct copies of a built-in blueprint, and the copies that interviews of a built-in
keep, get the built-in's dependencies where their fields still fit them (the field and the
fields it is based on are there, in that order) and declare none of their own: an answer
changed in them then asks again what depended on it, as in a blueprint copied today. Only
what an edit clears changes; what an interview asks does not.

Going back removes `based_on` everywhere: the code before it refuses fields that have it.
The dependencies are written out here rather than read from `builtin.py`, so that this
migration does the same thing whatever the built-ins become.
"""

from django.db import migrations

DEPENDENCIES = {
    "Network service": {
        "vendor": ["service_type"],
        "features": ["service_type"],
        "api_docs": ["service_type", "vendor"],
    },
    "Business process": {
        "integrations": ["steps"],
        "ai_actions": ["steps"],
        "human_approvals": ["steps"],
        "approval_details": ["steps"],
        "compensation": ["steps"],
    },
}


def with_dependencies(fields, declared):
    """The fields with the declared dependencies that fit them; None when nothing changes."""
    if not isinstance(fields, list):
        return None
    changed = False
    earlier = set()
    result = []
    for field in fields:
        if isinstance(field, dict):
            key = field.get("key")
            targets = [target for target in declared.get(key, []) if target in earlier]
            if targets and not field.get("based_on"):
                field = {**field, "based_on": targets}
                changed = True
            earlier.add(key)
        result.append(field)
    return result if changed else None


def declare(apps, schema_editor):
    TenantBlueprint = apps.get_model("conversations", "TenantBlueprint")
    Conversation = apps.get_model("conversations", "Conversation")
    for blueprint in TenantBlueprint._base_manager.filter(copied_from__in=list(DEPENDENCIES)).iterator():
        fields = with_dependencies(blueprint.fields, DEPENDENCIES[blueprint.copied_from])
        if fields is not None:
            blueprint.fields = fields
            blueprint.save(update_fields=["fields"])
    for conversation in Conversation._base_manager.filter(blueprint_name__in=list(DEPENDENCIES)).iterator():
        snapshot = conversation.blueprint
        if not isinstance(snapshot, dict) or snapshot.get("name") not in DEPENDENCIES:
            continue
        fields = with_dependencies(snapshot.get("fields"), DEPENDENCIES[snapshot["name"]])
        if fields is not None:
            conversation.blueprint = {**snapshot, "fields": fields}
            conversation.save(update_fields=["blueprint"])


def without_based_on(fields):
    if not isinstance(fields, list) or not any(isinstance(f, dict) and "based_on" in f for f in fields):
        return None
    return [
        {name: value for name, value in field.items() if name != "based_on"}
        if isinstance(field, dict)
        else field
        for field in fields
    ]


def undeclare(apps, schema_editor):
    TenantBlueprint = apps.get_model("conversations", "TenantBlueprint")
    Conversation = apps.get_model("conversations", "Conversation")
    for blueprint in TenantBlueprint._base_manager.iterator():
        fields = without_based_on(blueprint.fields)
        if fields is not None:
            blueprint.fields = fields
            blueprint.save(update_fields=["fields"])
    for conversation in Conversation._base_manager.iterator():
        snapshot = conversation.blueprint
        fields = without_based_on(snapshot.get("fields")) if isinstance(snapshot, dict) else None
        if fields is not None:
            conversation.blueprint = {**snapshot, "fields": fields}
            conversation.save(update_fields=["blueprint"])


class Migration(migrations.Migration):
    dependencies = [("conversations", "0002_storable_json")]

    operations = [migrations.RunPython(declare, undeclare)]
