import pytest


@pytest.fixture(autouse=True)
def reference_data(request):
    """Categories, rules and the calendar come from data migrations; a transactional test's flush removes them."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("db")  # with transaction=True in the marker this is the transactional database
    from cases.calendar import load_calendar
    from cases.categories import load_categories
    from cases.models import CalendarDay, Category

    if not Category.objects.exists():
        load_categories()
    if not CalendarDay.objects.exists():
        load_calendar()


@pytest.fixture
def geo(db):
    from tests.cases.geo import build_geography

    return build_geography()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Accounts are made by the dozen here; hashing their passwords slowly proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
