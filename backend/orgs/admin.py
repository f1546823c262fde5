"""The Django admin for platform administrators.

Every write goes through orgs.services, exactly like the API: the tree lock is taken, the access
rule is checked against the acting user, and the audit event is written. The admin never deletes
units (deactivate them instead) and never edits an audit event.

Every admin page of orgs, tasks and evidence is scoped by `ScopedAdminMixin`: a staff member who is
not a superuser sees, opens and picks only rows of the units their memberships cover.
"""

from django import http
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from mptt.admin import DraggableMPTTAdmin

from common.exceptions import ApplicationError
from orgs import selectors, services
from orgs.models import MAX_DEPTH, Membership, OrgEvent, OrgUnit, User
from orgs.scope import Action, can, refused_units, unit_condition, units_for

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


class ScopedAdminMixin:
    """The access rule in the admin, written once (orgs.scope, as in the API's selectors).

    `scope_path` leads from the model to the unit it belongs to ("unit", "assignment__unit", ...).
    A non-superuser's changelist, change, delete and history pages see only rows of units their
    memberships cover; anything else is "not found". Foreign-key choices of forms come from the
    related model's own (scoped) admin queryset, so add pages, raw-id pop-ups and autocompletes show
    nothing outside the scope either.
    """

    scope_path = "unit"

    def get_queryset(self, request):
        return self.scope(super().get_queryset(request), request.user)

    def scope(self, queryset: QuerySet, user: User) -> QuerySet:
        return queryset.filter(unit_condition(user, Action.VIEW, prefix=self.scope_path))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and not request.user.is_superuser:
            try:
                related = self.admin_site.get_model_admin(db_field.remote_field.model)
            except NotRegistered:
                related = None
            if isinstance(related, ScopedAdminMixin):
                kwargs["queryset"] = related.get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Rows that change only through the services (which write their events): readable, scoped,
    never added, edited or deleted in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OrgUnit)
class OrgUnitAdmin(ScopedAdminMixin, ServiceErrorsMixin, DraggableMPTTAdmin):
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

    def scope(self, queryset, user):
        # The model is the unit itself: the visible subtrees.
        return queryset & units_for(user, Action.VIEW)

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


class MembershipInline(ScopedAdminMixin, admin.TabularInline):
    model = Membership
    fields = ("unit", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("unit",)
    extra = 0

    def has_change_permission(self, request, obj=None):
        # A membership is granted or revoked, never edited: the audit trail records exactly that.
        return False


# What only a superuser may grant: a non-superuser staff member sees these read-only, even on their
# own account, so the admin is never a way to raise one's own (or a colleague's) powers.
PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(ScopedAdminMixin, ServiceErrorsMixin, DjangoUserAdmin):
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

    def scope(self, queryset, user):
        # The people the API lists: a membership inside the visible subtrees, or oneself.
        return queryset.filter(pk__in=selectors.user_list(user=user).values("pk"))

    @staticmethod
    def manages(actor: User, target: User) -> bool:
        """May `actor` change `target`'s account (password, name, active flag)?

        Only an administrator whose scope covers every unit the target belongs to: "one of them"
        would let a street administrator take over a district administrator who also holds a
        community role. A superuser's account is changed only by a superuser.
        """
        if actor.is_superuser:
            return True
        if target.is_superuser or not actor.is_active:
            return False
        memberships = Membership.objects.filter(user_id=target.pk)
        return (
            memberships.exists()
            and not memberships.exclude(unit_condition(actor, Action.MANAGE_PEOPLE)).exists()
        )

    def has_add_permission(self, request):
        # A new account needs its first unit and role in the same step, which the admin's two-page
        # add form cannot offer: administrators use POST /api/v1/users/ or the onboarding import.
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        # Django's password page asks the same question (after the scoped get_object: 404 outside).
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.manages(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.manages(request.user, obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            # The bulk action checks no object, so it could delete people one may only see.
            actions.pop("delete_selected", None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        return readonly + PRIVILEGE_FIELDS

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
class MembershipAdmin(ScopedAdminMixin, ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("user", "unit", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__real_name", "unit__name", "unit__code")
    autocomplete_fields = ("user", "unit")
    list_select_related = ("user", "unit")

    def has_change_permission(self, request, obj=None):
        return False  # granted or revoked, never edited

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or can(request.user, Action.MANAGE_PEOPLE, obj.unit))

    def save_model(self, request, obj, form, change):
        created = services.membership_create(actor=request.user, user=obj.user, unit=obj.unit, role=obj.role)
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.membership_delete(actor=request.user, membership=obj)

    def get_deleted_objects(self, objs, request):
        # Revoking needs "manage people" on each unit. Django's delete page and bulk action both
        # ask here, and refuse the whole deletion (before anything is deleted) if perms_needed.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        units = OrgUnit.objects.filter(memberships__in=objs).distinct()
        if refused_units(request.user, Action.MANAGE_PEOPLE, units):
            perms_needed.add(self.opts.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("unit"):
            services.membership_delete(actor=request.user, membership=membership)


@admin.register(OrgEvent)
class OrgEventAdmin(ScopedReadOnlyAdmin):
    """The audit trail: readable, filterable, never editable."""

    list_display = ("created_at", "verb", "unit", "actor", "data")
    list_filter = ("verb",)
    search_fields = ("unit__name", "unit__code", "actor__username", "actor__real_name")
    date_hierarchy = "created_at"
    list_select_related = ("unit", "actor")
