import pytest
from django.contrib.auth import get_user_model

from cases.categories import sync_default_rules
from cases.models import CalendarDay, Category, RoutingRule
from tests.cases.geo import Geography
from tests.cases.helpers import report

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "a-long-password-1")
    client.force_login(user)
    return client


def test_admin_pages_show_categories_rules_cases_and_calendar(admin_client, geo: Geography):
    case = report(geo.point("W1", "N"), "SJ0101")
    category = Category.objects.get(code="SJ0101")
    for url in [
        "/admin/cases/category/",
        f"/admin/cases/category/{category.pk}/change/",
        "/admin/cases/routingrule/",
        f"/admin/cases/routingrule/{category.rules.first().pk}/change/",
        "/admin/cases/case/",
        f"/admin/cases/case/{case.pk}/change/",
        "/admin/cases/calendarday/",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert case.number in page and "report" in page
    assert admin_client.get("/admin/cases/case/add/").status_code == 403
    assert "国庆节" in admin_client.get("/admin/cases/calendarday/?q=国庆").content.decode()
    assert CalendarDay.objects.filter(name__startswith="国庆节").count() == 9


def test_default_rules_follow_the_category(db):
    category = Category.objects.get(code="SJ0101")
    manual = RoutingRule.objects.create(category=category, unit_type="police_station", role="co_handling")
    category.handling_unit_type = "community"
    category.co_unit_types = ["police_station"]
    category.save()
    counts = sync_default_rules(category_model=Category, rule_model=RoutingRule, categories=[category])
    assert counts == {"rules_created": 2, "rules_deleted": 2}
    defaults = set(category.rules.filter(is_default=True).values_list("role", "unit_type"))
    assert defaults == {("responsible", "community"), ("co_handling", "police_station")}
    assert RoutingRule.objects.filter(pk=manual.pk).exists()  # rules made by hand stay
