"""The Django admin for platform administrators.

Every write goes through orgs.services, exactly like the API: the tree lock is taken, the access
rule is checked against the acting user, and the audit event is written. The admin never deletes
units (deactivate them instead) and never edits an audit event.
"""

from django import http
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from mptt.admin import DraggableMPTTAdmin

from common.exceptions import ApplicationError
from orgs import services
from orgs.models import MAX_DEPTH, Membership, OrgEvent, OrgUnit, User
from orgs.scope import Action, units_for

# The product's name instead of "Django 站点管理员"; both names, as on the API docs page.
admin.site.site_header = admin.site.site_title = "传习 Chuanxi"


class ServiceErrorsMixin:
    """Show a refused write (ApplicationError from a service) as a message instead of a server error.

    changeform_view runs inside one transaction, so everything the request had written is rolled
    back before the message is shown.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
            return http.HttpResponseRedirect(request.get_full_path())


@admin.register(OrgUnit)
class OrgUnitAdmin(ServiceErrorsMixin, DraggableMPTTAdmin):
    list_display = ("tree_actions", "indented_title", "code", "level_label", "station_name", "is_active")
    list_display_links = ("indented_title",)
    list_filter = ("level", "is_active")
    search_fields = ("name", "code", "station_name")
    fields = (
        "parent",
        "name",
        "code",
        "station_name",
        "address",
        "contact_phone",
        ("latitude", "longitude"),
        "is_active",
    )
    list_per_page = 500
    mptt_level_indent = 24

    @admin.display(description=gettext_lazy("level"), ordering="level")
    def level_label(self, unit: OrgUnit) -> str:
        return unit.level_display

    def get_queryset(self, request):
        # The same access rule as the API: a non-superuser staff member sees only their subtrees.
        return units_for(request.user, Action.VIEW)

    def has_delete_permission(self, request, obj=None):
        # Units carry tasks, people and history: they are deactivated, never deleted.
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.parent_id is None:
            return ("parent",)  # a district stays a root
        return ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        parent = form.base_fields.get("parent")
        if parent is not None:
            # Offer only parents the service would accept, so the usual mistakes never reach it:
            # nothing below community level, not the unit itself or its own subtree.
            choices = units_for(request.user, Action.MANAGE_UNITS).filter(level__lt=MAX_DEPTH)
            if obj is not None:
                height = self._subtree_height(obj)
                choices = choices.filter(level__lt=MAX_DEPTH - height).exclude(
                    tree_id=obj.tree_id, lft__gte=obj.lft, rght__lte=obj.rght
                )
            parent.queryset = choices
            parent.required = not request.user.is_superuser  # only a superuser may start a new district
        return form

    @staticmethod
    def _subtree_height(unit: OrgUnit) -> int:
        deepest = OrgUnit.objects.filter(
            tree_id=unit.tree_id, lft__gte=unit.lft, rght__lte=unit.rght
        ).aggregate(m=Max("level"))["m"]
        return (deepest if deepest is not None else unit.level) - unit.level

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in services.UNIT_FIELDS}
        if not change:
            unit = services.unit_create(actor=request.user, parent=obj.parent, **fields)
            obj.pk = unit.pk
            obj._state.adding = False
            obj.refresh_from_db()
            return
        stored = OrgUnit.objects.get(pk=obj.pk)
        if "parent" in form.changed_data and obj.parent is not None:
            stored = services.unit_move(actor=request.user, unit=stored, new_parent=obj.parent)
        services.unit_update(actor=request.user, unit=stored, data=fields)
        obj.refresh_from_db()

    def _move_node(self, request):
        """Drag and drop in the changelist: the move goes through services.unit_move.

        The widget sends `cut_item`, `pasted_on` and `position`: "last-child" drops the unit into
        `pasted_on`; "left"/"right" drop it beside `pasted_on`, i.e. under `pasted_on`'s parent.
        Siblings are always ordered by code, so a drop beside a sibling only changes the parent.
        """
        position = request.POST.get("position")
        if position not in ("last-child", "left", "right"):
            self.message_user(request, _("Did not understand moving instruction."), level=messages.ERROR)
            return http.HttpResponse("FAIL, unknown instruction.")
        queryset = self.get_queryset(request)
        try:
            cut_item = queryset.get(pk=request.POST.get("cut_item"))
            pasted_on = queryset.get(pk=request.POST.get("pasted_on"))
        except (OrgUnit.DoesNotExist, TypeError, ValueError):
            self.message_user(request, _("Objects have disappeared, try again."), level=messages.ERROR)
            return http.HttpResponse("FAIL, invalid objects.")
        if not self.has_change_permission(request, cut_item):
            self.message_user(request, _("No permission"), level=messages.ERROR)
            return http.HttpResponse("FAIL, no permission.")

        new_parent = pasted_on if position == "last-child" else pasted_on.parent
        if new_parent is None:
            self.message_user(
                request, _("A district cannot be moved under another unit."), level=messages.ERROR
            )
            return http.HttpResponse("FAIL, invalid move.")
        if new_parent.pk == cut_item.parent_id:
            self.message_user(
                request, _("Units under the same parent are always listed by code."), level=messages.WARNING
            )
            return http.HttpResponse("FAIL, same parent.")
        old_parent = cut_item.parent
        try:
            moved = services.unit_move(actor=request.user, unit=cut_item, new_parent=new_parent)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
            return http.HttpResponse("FAIL, invalid move.")
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=[moved],
            action_flag=CHANGE,
            change_message=[{"changed": {"fields": ["parent"]}}],
            single_object=True,
        )
        self.message_user(
            request,
            _("%(unit)s has been moved from %(old)s to %(new)s.")
            % {"unit": moved.name, "old": old_parent.name if old_parent else "-", "new": new_parent.name},
        )
        return http.HttpResponse("OK, moved.")


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("unit", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("unit",)
    extra = 0

    def has_change_permission(self, request, obj=None):
        # A membership is granted or revoked, never edited: the audit trail records exactly that.
        return False


@admin.register(User)
class UserAdmin(ServiceErrorsMixin, DjangoUserAdmin):
    list_display = ("username", "real_name", "mobile", "is_active", "is_staff", "last_login")
    search_fields = ("username", "real_name", "mobile")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (gettext_lazy("Personal info"), {"fields": ("real_name", "mobile", "email")}),
        (
            gettext_lazy("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "real_name", "mobile", "usable_password", "password1", "password2"),
            },
        ),
    )
    inlines = (MembershipInline,)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # user_create needs a first unit and role; here they come from the inline, so the
            # account is saved by the form and its creation recorded like user_create does.
            services.event_record(
                verb=OrgEvent.Verb.USER_CREATED,
                actor=request.user,
                data={"user": obj.pk, "username": obj.username, "via": "admin"},
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_delete(actor=request.user, membership=membership)
        for membership in memberships:
            if membership.pk is None:
                services.membership_create(
                    actor=request.user, user=form.instance, unit=membership.unit, role=membership.role
                )
        return None


@admin.register(Membership)
class MembershipAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("user", "unit", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__real_name", "unit__name", "unit__code")
    autocomplete_fields = ("user", "unit")
    list_select_related = ("user", "unit")

    def has_change_permission(self, request, obj=None):
        return False  # granted or revoked, never edited

    def save_model(self, request, obj, form, change):
        created = services.membership_create(actor=request.user, user=obj.user, unit=obj.unit, role=obj.role)
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.membership_delete(actor=request.user, membership=obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("unit"):
            services.membership_delete(actor=request.user, membership=membership)


@admin.register(OrgEvent)
class OrgEventAdmin(admin.ModelAdmin):
    """The audit trail: readable, filterable, never editable."""

    list_display = ("created_at", "verb", "unit", "actor", "data")
    list_filter = ("verb",)
    search_fields = ("unit__name", "unit__code", "actor__username", "actor__real_name")
    date_hierarchy = "created_at"
    list_select_related = ("unit", "actor")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
