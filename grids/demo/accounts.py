"""Demo accounts, all with the password settings.DEMO_PASSWORD."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from grids.models import Grid, Role, Staff, Unit, UnitType

WORKERS = [f"worker{i}" for i in range(1, 10)]
USERNAMES = ["admin", "manager", "dispatcher", "police", "command", *WORKERS]
HOME_STREET = "510403001"  # 清香坪街道: the dispatcher's street office, and where the workers' grids are


def create_accounts() -> dict[str, Staff]:
    """admin, manager, dispatcher (清香坪街道办事处), police (a police station), command (the district command centre,
    西区网格化服务管理指挥中心: works escalated cases), worker1..worker9 (1-2 grids each).

    Accounts of those names that exist already are reused: their password and staff record are reset.
    """
    User = get_user_model()
    password = make_password(settings.DEMO_PASSWORD)  # hashed once: the hasher is slow on purpose
    centre = Unit.objects.get(code="510403-ZHZX")
    office = Unit.objects.get(code=f"{HOME_STREET}-JDB")
    station = (
        Unit.objects.filter(type=UnitType.POLICE_STATION, code__startswith="510403-", name="清香坪派出所").first()
        or Unit.objects.filter(type=UnitType.POLICE_STATION, code__startswith="510403-").order_by("code").first()
    )
    # The workers' grids: 清香坪街道 first, then the rest of 西区, in code order.
    grids = list(Grid.objects.filter(code__startswith=HOME_STREET).order_by("code")) + list(
        Grid.objects.filter(code__startswith="510403").exclude(code__startswith=HOME_STREET).order_by("code")
    )
    wanted = {
        "admin": dict(role=Role.ADMIN, unit=centre, superuser=True, first_name="系统管理员"),
        "manager": dict(role=Role.MANAGER, unit=centre, first_name="区级管理人员"),
        "dispatcher": dict(role=Role.DISPATCHER, unit=office, first_name="清香坪街道办理端口"),
        "police": dict(role=Role.DISPATCHER, unit=station, first_name=f"{station.name}办理端口"),
        "command": dict(role=Role.DISPATCHER, unit=centre, first_name=f"{centre.name}办理端口"),
    }
    taken = 0
    for i, username in enumerate(WORKERS, start=1):
        mine = grids[taken : taken + (1 if i % 2 else 2)]
        mine = [g for g in mine if g.community_id == mine[0].community_id]  # one community per worker
        taken += len(mine)
        committee = Unit.objects.get(code=f"{mine[0].code[:12]}-JWH")
        wanted[username] = dict(role=Role.WORKER, unit=committee, grids=mine, first_name=f"网格员{i}")

    staff: dict[str, Staff] = {}
    for username, spec in wanted.items():
        superuser = spec.get("superuser", False)
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "password": password,
                "is_superuser": superuser,
                "is_staff": superuser,
                "is_active": True,
                "first_name": spec["first_name"],
            },
        )
        Staff.objects.filter(user=user).delete()
        record = Staff.objects.create(user=user, role=spec["role"], unit=spec["unit"])
        if spec.get("grids"):
            record.grids.set(spec["grids"])
        staff[username] = record
    return staff
