"""Links between apps, registered by the app that owns the page: lower layers never name an
upper layer's URLs.

Each app registers in its `AppConfig.ready()`:
- its sections of the tenant portal's menu (`register_section`),
- the next steps it offers on another app's objects (`register_next_step`), e.g. the workflows
  app's "Generate workflow" on a finished conversation, and
- what it adds to the tenant dashboard: a first step for a new tenant (`register_dashboard_step`),
  a panel of the tenant's recent work (`register_recent_work`), a headline figure
  (`register_dashboard_figure`).
The portal shell and the pages read what is registered; an app that is not installed simply
contributes nothing.

Roles are named by their value ("viewer", "member", "admin", "owner"): this floor knows no
tenants, so the page that reads a contribution decides, through `may(role)`, whether its
viewer may have it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class Section:
    """A menu entry of the tenant portal: `url_name` (namespaced) is reversed with the slug."""

    label: str
    url_name: str
    order: int


@dataclass(frozen=True)
class NextStep:
    """A link offered on an object of another app, when `applies(object)` holds; with
    `method` "post", a button that does the step (the page posts to `url`)."""

    label: str
    url: Callable[[Any], str]
    applies: Callable[[Any], bool]
    order: int
    method: str = "get"


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    active: bool = False
    method: str = "get"


_sections: dict[str, Section] = {}
_next_steps: defaultdict[str, dict[str, NextStep]] = defaultdict(dict)


def register_section(*, label: str, url_name: str, order: int) -> None:
    """Add a section to the tenant menu (again with the same `url_name`: replaced)."""
    _sections[url_name] = Section(label, url_name, order)


def register_next_step(
    subject: str,
    *,
    label: str,
    url: Callable[[Any], str],
    applies: Callable[[Any], bool] = lambda _object: True,
    order: int = 100,
    method: str = "get",
) -> None:
    """Offer a link on every object of `subject` (e.g. "conversation") for which `applies` holds;
    `method="post"` makes it a button posting to the url (for a step that starts something)."""
    _next_steps[subject][label] = NextStep(label, url, applies, order, method)


def tenant_sections(*, tenant_slug: str, current: str | None) -> list[Link]:
    """The tenant menu, in order; `current` is the namespaced name of the page being shown."""
    sections = sorted(_sections.values(), key=lambda section: section.order)
    return [
        Link(
            section.label,
            reverse(section.url_name, kwargs={"tenant_slug": tenant_slug}),
            active=section.url_name == current,
        )
        for section in sections
    ]


def next_steps(subject: str, target: Any) -> list[Link]:
    """The links other apps offer on `target`, an object of `subject`, in order."""
    steps = sorted(_next_steps[subject].values(), key=lambda step: step.order)
    return [Link(step.label, step.url(target), method=step.method) for step in steps if step.applies(target)]


# --- The tenant dashboard -----------------------------------------------------------------
# Every callable below takes the tenant and reads through its app's own tenant-scoped
# selectors; each costs a fixed number of queries, so the dashboard's cost does not grow with
# the tenant's data.

MayHave = Callable[[str], bool]


@dataclass(frozen=True)
class DashboardStep:
    """A first thing to do in a tenant: offered to members with `role` or higher, marked done
    once `done(tenant)` holds."""

    label: str
    why: str
    url: Callable[[Any], str]
    done: Callable[[Any], bool]
    role: str
    order: int


@dataclass(frozen=True)
class StepLink:
    """A dashboard step as one viewer sees it."""

    label: str
    why: str
    url: str
    done: bool
    order: int


@dataclass(frozen=True)
class RecentItem:
    """One piece of a tenant's recent work; `status_class` styles its status badge."""

    title: str
    url: str
    when: datetime
    status: str
    status_class: str = ""


@dataclass(frozen=True)
class RecentWork:
    """A dashboard panel of one kind of work: `items(tenant, limit)` gives the newest first,
    `url(tenant)` the page listing all of them, `empty` what the panel says without any."""

    label: str
    items: Callable[[Any, int], list[RecentItem]]
    url: Callable[[Any], str]
    empty: str
    role: str
    order: int


@dataclass(frozen=True)
class RecentPanel:
    """A recent-work panel as one viewer sees it."""

    key: str
    label: str
    url: str
    empty: str
    items: list[RecentItem]


@dataclass(frozen=True)
class Figure:
    """A headline number of the dashboard, already formatted, linking to where it comes from;
    `key` is the one it was registered under."""

    value: str
    label: str
    url: str
    key: str = ""


@dataclass(frozen=True)
class DashboardFigure:
    figure: Callable[[Any], Figure]
    role: str
    order: int


_dashboard_steps: dict[str, DashboardStep] = {}
_recent_work: dict[str, RecentWork] = {}
_dashboard_figures: dict[str, DashboardFigure] = {}


def register_dashboard_step(
    key: str,
    *,
    label: str,
    why: str,
    url: Callable[[Any], str],
    done: Callable[[Any], bool],
    role: str,
    order: int = 100,
) -> None:
    """Offer a first step on the tenant dashboard (again with the same `key`: replaced).

    `url(tenant)` is where the step is taken, `done(tenant)` whether it has been, `role` the
    least role that may take it.
    """
    _dashboard_steps[key] = DashboardStep(label, why, url, done, role, order)


def register_recent_work(
    key: str,
    *,
    label: str,
    items: Callable[[Any, int], list[RecentItem]],
    url: Callable[[Any], str],
    empty: str,
    role: str = "viewer",
    order: int = 100,
) -> None:
    """Show a panel of the tenant's latest `key` items (e.g. "services") on its dashboard."""
    _recent_work[key] = RecentWork(label, items, url, empty, role, order)


def register_dashboard_figure(
    key: str, *, figure: Callable[[Any], Figure], role: str = "viewer", order: int = 100
) -> None:
    """Show a headline figure, `figure(tenant)`, on the tenant dashboard."""
    _dashboard_figures[key] = DashboardFigure(figure, role, order)


def dashboard_steps(tenant: Any, *, may: MayHave) -> list[StepLink]:
    """The first steps the viewer may take, in order, each saying whether it is done; only
    the offered ones are checked."""
    steps = sorted(_dashboard_steps.values(), key=lambda step: step.order)
    return [
        StepLink(step.label, step.why, step.url(tenant), step.done(tenant), step.order)
        for step in steps
        if may(step.role)
    ]


def recent_work(tenant: Any, *, may: MayHave, limit: int = 5) -> list[RecentPanel]:
    """The recent-work panels the viewer may see, in order, each with at most `limit` items."""
    ordered = sorted(_recent_work.items(), key=lambda entry: entry[1].order)
    return [
        RecentPanel(key, work.label, work.url(tenant), work.empty, work.items(tenant, limit)[:limit])
        for key, work in ordered
        if may(work.role)
    ]


def dashboard_figures(tenant: Any, *, may: MayHave) -> list[Figure]:
    """The headline figures the viewer may see, in order."""
    ordered = sorted(_dashboard_figures.items(), key=lambda entry: entry[1].order)
    return [replace(entry.figure(tenant), key=key) for key, entry in ordered if may(entry.role)]
