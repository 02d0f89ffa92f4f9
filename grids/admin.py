from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from gridmgmt.login_guard import client_address
from grids import models, pii, services
from grids.admin_io import register_import_view


@admin.register(models.District)
class DistrictAdmin(LeafletGeoAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(models.Street)
class StreetAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "district"]
    list_filter = ["district"]
    search_fields = ["code", "name"]


@admin.register(models.Community)
class CommunityAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "street"]
    list_filter = ["street"]
    search_fields = ["code", "name"]


@admin.register(models.Grid)
class GridAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "community"]
    list_filter = ["community__street"]
    search_fields = ["code", "name"]
    list_select_related = ["community"]


@admin.register(models.Building)
class BuildingAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "address", "floors", "use", "grid"]
    list_filter = ["use"]
    search_fields = ["code", "name", "address"]
    readonly_fields = ["grid"]
    list_select_related = ["grid"]


@admin.register(models.Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["__str__", "building", "unit_no", "floor", "room", "type"]
    list_filter = ["type"]
    search_fields = ["building__code", "building__name", "room"]
    raw_id_fields = ["building"]
    list_select_related = ["building"]


class PersonForm(forms.ModelForm):
    """ID number and phone are typed in plain and stored protected; the stored values are never shown."""

    id_number = forms.CharField(label=_("身份证号"), required=False, max_length=18, help_text=_("留空则不修改"))
    phone = forms.CharField(label=_("电话"), required=False, max_length=20, help_text=_("留空则不修改"))

    class Meta:
        model = models.Person
        fields = ["household", "name", "sex", "birth_date", "relation", "residency", "care_tags"]

    def clean_id_number(self):
        value = self.cleaned_data["id_number"]
        if not value and not self.instance.pk:
            raise ValidationError(_("新登记人员须填写身份证号。"))
        if value:
            value = pii.normalize_id_number(value)
            duplicate = models.Person.objects.filter(id_number_digest=pii.digest(value)).exclude(pk=self.instance.pk)
            if duplicate.exists():
                raise ValidationError(_("该身份证号已登记。This ID number is already registered."))
        return value

    def clean_phone(self):
        value = self.cleaned_data["phone"]
        return pii.normalize_phone(value) if value else value

    def save(self, commit=True):
        person = super().save(commit=False)
        services.set_person_contact(
            person=person, id_number=self.cleaned_data["id_number"], phone=self.cleaned_data["phone"] or None
        )
        if commit:
            person.save()
        return person


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonForm
    list_display = ["name", "sex", "id_number_masked", "phone_masked", "residency", "household"]
    list_filter = ["residency", "sex"]
    search_fields = ["name"]
    readonly_fields = ["id_number_masked", "phone_masked"]
    raw_id_fields = ["household"]
    list_select_related = ["household__building"]

    CONTACT_SEARCHES = (
        ("id_number", pii.normalize_id_number, pii.mask_id_number, "id_number_digest"),
        ("phone", pii.normalize_phone, pii.mask_phone, "phone_digest"),
    )

    def get_search_results(self, request, queryset, search_term):
        # A full ID number or phone is found by its keyed hash, never by its text, and the search is audited.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        for name, normalize, mask, field in self.CONTACT_SEARCHES:
            try:
                plain = normalize(term)
            except ValidationError:
                continue
            matches = self.model.objects.filter(**{field: pii.digest(plain)})
            services.record_contact_search(
                actor=request.user,
                field=name,
                masked=mask(plain),
                found=sorted(matches.values_list("pk", flat=True)[:50]),
                address=client_address(request),
            )
            queryset |= matches
        return queryset, may_have_duplicates


@admin.register(models.Unit)
class UnitAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "type", "parent"]
    list_filter = ["type"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]


@admin.register(models.Staff)
class StaffAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "unit"]
    list_filter = ["role"]
    search_fields = ["user__username"]
    filter_horizontal = ["grids"]
    raw_id_fields = ["user", "unit", "street", "community"]


@admin.register(models.RegistryChange)
class RegistryChangeAdmin(admin.ModelAdmin):
    """Read only: requests are made on the handheld and decided at the desk (/desk/registry/), never edited here."""

    list_display = ["kind", "state", "building", "worker", "received_at", "decided_unit", "decided_at"]
    list_filter = ["state", "kind"]
    search_fields = ["building__code", "building__name", "worker__username"]
    list_select_related = ["building", "worker", "decided_unit"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.site_header = _("网格化管理系统")
admin.site.site_title = _("网格化管理系统")
admin.site.index_title = _("系统管理")

register_import_view(admin.site)  # /admin/grids/import/: the import_layer command as an upload
