"""Administration of categories, routing rules, the working calendar, and a read-only view of cases.

Cases change only through the workflow (cases.services); here they can be read with their whole history.
"""

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from cases import models
from cases.categories import sync_default_rules


class RuleInline(admin.TabularInline):
    model = models.RoutingRule
    fields = ["role", "unit_type", "unit", "street", "community", "priority", "active", "is_default", "note"]
    readonly_fields = ["is_default"]
    raw_id_fields = ["unit", "street", "community"]
    extra = 0


@admin.register(models.Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["tree_name", "code", "kind", "default_level", "handling_unit_type", "co_types", "active"]
    list_filter = ["kind", "default_level", "handling_unit_type", "active"]
    search_fields = ["code", "name_zh", "name_en"]
    ordering = ["code"]  # codes nest (SJ → SJ01 → SJ0101), so this is tree order
    list_per_page = 200
    raw_id_fields = ["parent"]
    inlines = [RuleInline]
    fieldsets = [
        (None, {"fields": ["code", "parent", "name_zh", "name_en", "kind", "active"]}),
        (_("分级与归口"), {"fields": ["default_level", "handling_unit_type", "co_unit_types"]}),
        (_("时限与条件"), {"fields": ["time_limits", "register_conditions", "close_conditions"]}),
    ]

    @admin.display(description=_("名称"), ordering="code")
    def tree_name(self, category: models.Category) -> str:
        depth = 0
        node = category
        while node.parent_id is not None and depth < 10:
            depth += 1
            node = node.parent
        return format_html('<span style="padding-left:{}em">{}</span>', 1.5 * depth, category.name_zh)

    @admin.display(description=_("协办单位类型"))
    def co_types(self, category: models.Category) -> str:
        labels = dict(models.UnitType.choices)
        return "、".join(str(labels.get(value, value)) for value in category.co_unit_types)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent__parent")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # the category's own handling/co-handling types are kept as default rules
        sync_default_rules(category_model=models.Category, rule_model=models.RoutingRule, categories=[form.instance])


@admin.register(models.RoutingRule)
class RoutingRuleAdmin(LeafletGeoAdmin):
    list_display = ["category", "role", "unit_type", "unit", "street", "community", "priority", "active", "is_default"]
    list_filter = ["role", "unit_type", "active", "is_default", "category__kind"]
    search_fields = ["category__code", "category__name_zh", "note", "unit__name"]
    raw_id_fields = ["category", "unit", "street", "community"]
    list_select_related = ["category", "unit", "street", "community"]
    readonly_fields = ["is_default"]


class EventInline(admin.TabularInline):
    """The history, read-only: events are append-only in the database as well."""

    model = models.CaseEvent
    fields = ["created_at", "action", "from_state", "to_state", "actor", "unit", "note", "attachments", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.Case)
class CaseAdmin(LeafletGeoAdmin):
    list_display = ["number", "state", "level", "category", "responsible_unit", "grid", "received_at", "events_n"]
    list_filter = ["state", "level", "source", "category__kind", "responsible_unit__type"]
    search_fields = ["number", "address", "description", "external_ref"]
    date_hierarchy = "received_at"
    list_select_related = ["category", "responsible_unit", "grid"]
    inlines = [EventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(events_count=Count("events"))

    @admin.display(description=_("流转记录"), ordering="events_count")
    def events_n(self, case: models.Case) -> int:
        return case.events_count

    def has_add_permission(self, request) -> bool:
        return False  # cases come in through the API, routed and numbered

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # and change only through the workflow (cases.services.apply_transition)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # history is kept


@admin.register(models.CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "is_workday", "name"]
    list_filter = ["is_workday", "date"]
    search_fields = ["name"]
    date_hierarchy = "date"
    ordering = ["date"]

    @admin.display(description=_("星期"))
    def weekday(self, day: models.CalendarDay) -> str:
        return "一二三四五六日"[day.date.weekday()]
