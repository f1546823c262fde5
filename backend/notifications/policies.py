"""Who may do what with notifications: one function per decision, on orgs.scope.Grants.

- A notification is its recipient's alone: anyone else gets 404 (the selectors never find it).
- A unit's group robots are configured by those who may manage the unit (its administrators and
  those above them); others who see the unit get 403, others 404.
- Delivery records are read by the same people, for their subtrees.
- A task's reminder plan is changed by whoever may edit the task (tasks.policies).
"""

from django.utils.translation import gettext as _
from rest_framework import status

from orgs.models import OrgUnit
from orgs.scope import Action, Grants
from tasks import policies as task_policies
from tasks.models import PracticeTask
from tasks.policies import Refusal

# Robots and delivery records belong to a unit's configuration: its administrators keep them.
ADMINISTER = Action.MANAGE_UNITS


def robot_manage_refusal(grants: Grants, unit: OrgUnit) -> Refusal | None:
    if grants.can(ADMINISTER, unit):
        return None
    return Refusal(status.HTTP_403_FORBIDDEN, _("Only the unit's administrators configure its group robots."))


def reminder_plan_refusal(grants: Grants, task: PracticeTask) -> Refusal | None:
    return task_policies.task_edit_refusal(grants, task)
