"""Factories for registry objects on a small made-up geography around 西区.

Regions are axis-aligned squares so tests can reason about which point lies where.
"""

import factory
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon

from grids import models, pii

ORIGIN = (101.60, 26.58)


def rect(x: float, y: float, width: float, height: float) -> Polygon:
    return Polygon(((x, y), (x + width, y), (x + width, y + height), (x, y + height), (x, y)), srid=4326)


def square(x: float, y: float, size: float) -> Polygon:
    return rect(x, y, size, size)


def multi_square(x: float, y: float, size: float) -> MultiPolygon:
    return MultiPolygon(square(x, y, size), srid=4326)


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.District
        django_get_or_create = ("code",)

    code = "510403"
    name = "西区"
    boundary = factory.LazyFunction(lambda: multi_square(*ORIGIN, 0.04))


class StreetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Street

    district = factory.SubFactory(DistrictFactory)
    # Codes wrap around so that a long test session never outgrows the code pattern.
    code = factory.Sequence(lambda n: f"510403{n % 999 + 1:03d}")
    name = factory.Sequence(lambda n: f"测试街道{n + 1}")
    boundary = factory.LazyFunction(lambda: multi_square(*ORIGIN, 0.04))


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Community

    street = factory.SubFactory(StreetFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.street.code}{n % 999 + 1:03d}")
    name = factory.Sequence(lambda n: f"测试社区{n + 1}")
    boundary = factory.LazyAttribute(lambda o: o.street.boundary)


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Grid

    community = factory.SubFactory(CommunityFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.community.code}{n % 99 + 1:02d}")
    name = factory.Sequence(lambda n: f"第{n + 1}网格")
    boundary = factory.LazyAttribute(lambda o: o.community.boundary)


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Building

    code = factory.Sequence(lambda n: f"B{n + 1:08d}")
    name = factory.Sequence(lambda n: f"{n + 1}栋")
    address = factory.Sequence(lambda n: f"测试路{n + 1}号")
    floors = 6
    footprint = factory.LazyFunction(lambda: square(ORIGIN[0] + 0.001, ORIGIN[1] + 0.001, 0.0003))


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Household

    building = factory.SubFactory(BuildingFactory)
    unit_no = "1"
    floor = factory.Sequence(lambda n: n % 6 + 1)
    room = factory.Sequence(lambda n: f"{n % 6 + 1}0{n % 4 + 1}-{n}")


def fake_id_number(n: int, *, birth: str = "19800101", area: str = "510403") -> str:
    first17 = f"{area}{birth}{n % 1000:03d}"
    return first17 + pii.id_check_digit(first17)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"张{n + 1}")
    sex = models.Sex.MALE
    birth_date = factory.Faker("date_of_birth", minimum_age=1, maximum_age=90)
    residency = models.Residency.REGISTERED
    id_number = factory.Sequence(lambda n: fake_id_number(n, birth=f"19{50 + n // 1000 % 50}0101"))
    phone = factory.Sequence(lambda n: f"138{n:08d}")

    @classmethod
    def _create(cls, model_class, *args, id_number: str = "", phone: str = "", **kwargs):
        kwargs.update(pii.protected_id_number(id_number))
        kwargs.update(pii.protected_phone(phone))
        return super()._create(model_class, *args, **kwargs)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Unit

    code = factory.Sequence(lambda n: f"U{n + 1:04d}")
    name = factory.Sequence(lambda n: f"测试单位{n + 1}")
    type = models.UnitType.STREET_OFFICE
    jurisdiction = factory.LazyFunction(lambda: multi_square(*ORIGIN, 0.04))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n + 1}")
    password = factory.django.Password("test-password-123")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Staff
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = models.Role.WORKER

    @factory.post_generation
    def grids(self, create, extracted, **kwargs):
        if create and extracted:
            self.grids.set(extracted)
