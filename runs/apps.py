from __future__ import annotations

from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Workflow runs"

    def ready(self) -> None:
        import sys

        from django.conf import settings
        from django.urls import reverse

        from core import navigation, processes
        from runs import cli, dashboard, triggers

        # `serve` runs the SCE Temporal worker beside the portal.
        processes.register_child(
            "runs worker",
            lambda: [sys.executable, str(settings.BASE_DIR / "manage.py"), "runs_worker"],
            needs_temporal=True,
        )

        cli.register()  # `manage.py workflow run` and `workflow signal`
        triggers.register()  # schedules follow publishing; the webhook page on workflows
        navigation.register_section(label="Runs", url_name="runs:run_list", order=34)
        navigation.register_section(label="Tasks", url_name="runs:task_list", order=36)
        navigation.register_recent_work(
            "runs",
            label="Workflow runs",
            items=dashboard.recent_runs,
            url=dashboard.runs_url,
            empty="No runs yet. Publish a workflow, then run it from its versions.",
            order=25,
        )
        # On a published version: run it. On a workflow: its runs, and a run of the version
        # published last. Workflows' pages list what is registered, knowing nothing of runs.
        navigation.register_next_step(
            "workflow_version",
            label="Run this version",
            url=lambda version: reverse(
                "runs:run_new",
                kwargs={
                    "tenant_slug": version.tenant.slug,
                    "workflow_id": version.workflow_id,
                    "number": version.number,
                },
            ),
            order=10,
        )
        navigation.register_next_step(
            "workflow",
            label="Run latest version",
            url=lambda workflow: reverse(
                "runs:run_new",
                kwargs={
                    "tenant_slug": workflow.tenant.slug,
                    "workflow_id": workflow.pk,
                    "number": workflow.published_version,
                },
            ),
            applies=lambda workflow: workflow.published_version > 0,
            order=10,
        )
        navigation.register_next_step(
            "workflow",
            label="Runs",
            url=lambda workflow: reverse(
                "runs:workflow_runs", kwargs={"tenant_slug": workflow.tenant.slug, "workflow_id": workflow.pk}
            ),
            order=20,
        )
