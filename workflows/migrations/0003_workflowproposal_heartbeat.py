"""Workflow proposals' heartbeat, resumption count and queuing time (core/heartbeats.py).

Proposals made before this were queued when they were created.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def queued_when_created(apps, schema_editor):
    WorkflowProposal = apps.get_model("workflows", "WorkflowProposal")
    WorkflowProposal._base_manager.update(queued_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("workflows", "0002_workflowproposal")]

    operations = [
        migrations.AddField(
            model_name="workflowproposal",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="workflowproposal",
            name="queued_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="workflowproposal",
            name="resumptions",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(queued_when_created, migrations.RunPython.noop),
    ]
