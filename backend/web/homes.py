"""Where each person lands after login: one workspace per membership, the highest level first.

This is navigation, not permission: a workspace only says which page is someone's starting point
for a unit. What they may do there comes from the services and (phase 2) the `actions` lists.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from orgs import selectors as org_selectors
from orgs.models import Level, OrgUnit, Role, User


class Home(StrEnum):
    MINE = "mine"  # 我的任务: a community's own open assignments
    INBOX = "inbox"  # 待办: a street's assignments and its communities'
    OVERVIEW = "overview"  # 总览: a district's tasks and figures; every viewer's read-only start


HOME_LABELS = {Home.MINE: _("My tasks"), Home.INBOX: _("To do"), Home.OVERVIEW: _("Overview")}
SESSION_KEY = "web.workspace"


def home_for(*, level: int, role: str) -> Home:
    if role == Role.VIEWER:
        return Home.OVERVIEW
    if level >= Level.COMMUNITY:
        return Home.MINE
    if level == Level.STREET:
        return Home.INBOX
    return Home.OVERVIEW


@dataclass(frozen=True)
class Workspace:
    home: Home
    unit: OrgUnit
    role_label: str

    @property
    def key(self) -> str:
        return f"{self.home}:{self.unit.pk}"

    @property
    def url(self) -> str:
        return f"{reverse(f'web:{self.home}')}?unit={self.unit.pk}"

    @property
    def label(self) -> str:
        return f"{self.unit.name} · {HOME_LABELS[self.home]}"


def workspaces_for(user: User) -> list[Workspace]:
    """The person's workspaces, highest level first (district, then street, then community). One query;
    a platform superuser without memberships gets every district's overview (two)."""
    found: dict[str, Workspace] = {}
    memberships = sorted(
        org_selectors.me_memberships(user=user),
        key=lambda m: (m.unit.level, m.unit.tree_id, m.unit.lft),
    )
    for membership in memberships:
        home = home_for(level=membership.unit.level, role=membership.role)
        workspace = Workspace(home=home, unit=membership.unit, role_label=membership.get_role_display())
        found.setdefault(workspace.key, workspace)
    if not found and user.is_superuser:
        for root in org_selectors.unit_list(user=user).filter(parent__isnull=True):
            workspace = Workspace(home=Home.OVERVIEW, unit=root, role_label=str(_("Platform administrator")))
            found.setdefault(workspace.key, workspace)
    return list(found.values())


def current_workspace(request: HttpRequest, workspaces: list[Workspace]) -> Workspace | None:
    """The workspace last opened in this session, else the highest one."""
    chosen = request.session.get(SESSION_KEY)
    for workspace in workspaces:
        if workspace.key == chosen:
            return workspace
    return workspaces[0] if workspaces else None


def remember_workspace(request: HttpRequest, home: Home, unit: OrgUnit) -> None:
    key = f"{home}:{unit.pk}"
    if request.session.get(SESSION_KEY) != key:  # an unchanged session is not written again
        request.session[SESSION_KEY] = key
