"""Households and the people in them: names, ages, sexes, well-formed (fake) ID numbers, phones, care tags.

An ageing industrial town: many elderly couples and elderly people living alone, working-age families,
tenants from elsewhere in 四川 and 云南. ID numbers follow GB 11643: county code + birth date + a 3-digit
sequence whose last digit is odd for men + the MOD 11-2 check character. They are unique by construction:
the n-th person of a county, birth date and sex gets the n-th value of a fixed permutation of the
sequences of that parity, so no set of issued numbers has to be kept (memory stays flat at city scale).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from itertools import accumulate

import numpy as np

from grids import pii
from grids.demo import names

TODAY = dt.date(2026, 1, 1)  # ages are counted to this date, so the demo does not change with the clock
EPOCH = dt.date(1900, 1, 1)
DAYS = (TODAY - EPOCH).days + 1

_SURNAMES = [s for s, _ in names.SURNAMES]
_SURNAME_CUM = list(accumulate(w for _, w in names.SURNAMES))


@dataclass(slots=True)
class PersonRow:
    name: str
    sex: str
    birth_date: dt.date
    relation: str
    residency: str
    care_tags: list[str]
    id_number: str
    phone: str


@dataclass(slots=True)
class HouseholdRow:
    unit_no: str
    floor: int
    room: str
    type: str
    people: list[PersonRow] = field(default_factory=list)


class IdNumbers:
    """Unique GB 11643 numbers without remembering them: a per (county, day, sex) counter, permuted."""

    def __init__(self, areas: list[str]):
        self.areas = {area: i for i, area in enumerate(dict.fromkeys(areas))}
        self.count = np.zeros((len(self.areas), DAYS, 2), dtype=np.uint16)

    def issue(self, area: str, birth: dt.date, male: bool) -> str:
        a, d, s = self.areas[area], (birth - EPOCH).days, int(male)
        n = int(self.count[a, d, s])
        if n >= 500:
            raise RuntimeError(f"more than 500 people of one sex born on {birth} in {area}")
        self.count[a, d, s] = n + 1
        # 137 is prime to 500, so n -> (137 n + offset) mod 500 is a permutation of 0..499.
        seq = ((137 * n + (a * 7919 + d * 104729) % 500) % 500) * 2 + s
        first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
        return first17 + pii.id_check_digit(first17)


class People:
    """Makes the households of one building and the people in them."""

    def __init__(self, district_code: str, all_district_codes: list[str]):
        self.ids = IdNumbers([*all_district_codes, *names.FLOATING_AREAS])
        self.set_home(district_code)

    def set_home(self, district_code: str) -> None:
        """Registered residents mostly carry this county code; people from elsewhere never do."""
        self.home = district_code
        self.elsewhere = [a for a in names.FLOATING_AREAS if a != district_code]

    # -- one person -------------------------------------------------------------------------------------
    def surname(self, rng: random.Random) -> str:
        return rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]

    def given_name(self, rng: random.Random, sex: str, year: int) -> str:
        generation = 0 if year < 1965 else 1 if year < 1995 else 2
        pool = names.GIVEN_CHARS[(sex, generation)]
        if rng.random() < (0.3 if generation < 2 else 0.2):
            return rng.choice(pool)
        first = rng.choice(pool)
        if sex == "F" and rng.random() < 0.05:
            return first + first
        return first + rng.choice(pool)

    def person(
        self,
        rng: random.Random,
        *,
        age: float,
        sex: str,
        relation: str,
        residency: str,
        surname: str | None = None,
        tags: list[str] | None = None,
    ) -> PersonRow:
        days = int(age * 365.25) + rng.randrange(365)
        birth = max(EPOCH, TODAY - dt.timedelta(days=days))
        if residency == "registered":
            area = self.home if rng.random() < 0.9 else rng.choice(self.elsewhere)
        else:
            area = rng.choice(self.elsewhere)
        id_number = self.ids.issue(area, birth, sex == "M")
        years = (TODAY - birth).days // 365
        phone = ""
        if years >= 16 and rng.random() < (0.96 if years <= 65 else 0.75 if years <= 80 else 0.3):
            phone = rng.choice(names.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        care = list(tags or [])
        self.add_tags(rng, care, years, sex)
        return PersonRow(
            (surname or self.surname(rng)) + self.given_name(rng, sex, birth.year),
            sex,
            birth,
            relation,
            residency,
            care,
            id_number,
            phone,
        )

    @staticmethod
    def add_tags(rng: random.Random, care: list[str], age: int, sex: str) -> None:
        r = rng.random
        if r() < (0.045 if age >= 40 else 0.015):
            care.append("disabled")
        if age >= 18 and r() < 0.005:
            care.append("mental_disorder")
        if 14 <= age <= 25 and r() < 0.01:
            care.append("key_youth")
        if sex == "M" and 20 <= age <= 55:
            if r() < 0.002:
                care.append("community_correction")
            if r() < 0.004:
                care.append("released_prisoner")
            if r() < 0.0015:
                care.append("drug_user")
        if sex == "M" and 25 <= age <= 80 and r() < 0.03:
            care.append("veteran")

    # -- one household ----------------------------------------------------------------------------------
    def members(self, rng: random.Random, kind: str, poor: float) -> list[PersonRow]:
        if kind == "vacant":
            return []
        u, tri = rng.uniform, rng.triangular
        if kind == "rental":
            residency = "floating" if rng.random() < 0.8 else "registered"
            sex = rng.choice("MF")
            head = self.person(rng, age=u(19, 48), sex=sex, relation="户主", residency=residency)
            out = [head]
            shape = rng.random()
            if shape > 0.3:
                out.append(self._spouse(rng, head, residency))
            if shape > 0.6:
                out.extend(self._children(rng, out, residency, rng.choice((1, 1, 2))))
            return out
        if kind == "collective":
            out = []
            for k in range(rng.randint(3, 8)):
                residency = "floating" if rng.random() < 0.6 else "registered"
                out.append(
                    self.person(
                        rng,
                        age=u(18, 55),
                        sex="M" if rng.random() < 0.7 else "F",
                        relation="户主" if k == 0 else "集体户成员",
                        residency=residency,
                    )
                )
            return out
        residency = "registered" if rng.random() < 0.9 else "floating"
        tags = ["subsistence"] if rng.random() < poor else []
        shape = rng.choices(
            ("alone", "elderly_couple", "single", "couple", "nuclear", "three", "skipped", "one_parent"),
            weights=(10, 15, 4, 8, 36, 19, 4, 4),
        )[0]
        if shape == "alone":
            age = tri(62, 95, 72)
            extra = ["elderly_alone"] if age >= 65 and rng.random() < 0.9 else []
            if age >= 75 and rng.random() < 0.04:
                extra.append("extreme_poverty")
            return [
                self.person(
                    rng,
                    age=age,
                    sex="F" if rng.random() < 0.62 else "M",
                    relation="户主",
                    residency=residency,
                    tags=tags + extra,
                )
            ]
        if shape == "elderly_couple":
            age = tri(60, 92, 70)
            extra = ["empty_nest"] if rng.random() < 0.8 else []
            head = self.person(rng, age=age, sex="M", relation="户主", residency=residency, tags=tags + extra)
            wife = self.person(
                rng, age=max(58, age - u(0, 5)), sex="F", relation="配偶", residency=residency, tags=tags + extra
            )
            return [head, wife]
        if shape == "single":
            return [
                self.person(rng, age=u(20, 60), sex=rng.choice("MF"), relation="户主", residency=residency, tags=tags)
            ]
        if shape == "couple":
            head = self.person(rng, age=tri(22, 62, 50), sex="M", relation="户主", residency=residency, tags=tags)
            return [head, self._spouse(rng, head, residency, tags)]
        if shape == "skipped":
            age = tri(55, 80, 65)
            head = self.person(rng, age=age, sex="M", relation="户主", residency=residency, tags=tags)
            out = [head]
            if rng.random() < 0.7:
                out.append(self._spouse(rng, head, residency, tags))
            for _ in range(rng.choice((1, 1, 2))):
                sex = rng.choice("MF")
                kid_tags = tags + (["left_behind_child"] if rng.random() < 0.7 else [])
                out.append(
                    self.person(
                        rng,
                        age=u(3, 15),
                        sex=sex,
                        relation="孙子" if sex == "M" else "孙女",
                        residency=residency,
                        surname=head.name[0],
                        tags=kid_tags,
                    )
                )
            return out
        if shape == "one_parent":
            head = self.person(
                rng,
                age=u(28, 52),
                sex="F" if rng.random() < 0.7 else "M",
                relation="户主",
                residency=residency,
                tags=tags,
            )
            return [head, *self._children(rng, [head], residency, rng.choice((1, 1, 2)), tags)]
        # nuclear and three generations
        head = self.person(rng, age=tri(27, 62, 47), sex="M", relation="户主", residency=residency, tags=tags)
        out = [head, self._spouse(rng, head, residency, tags)]
        out.extend(self._children(rng, out, residency, rng.choices((1, 2, 3), weights=(66, 31, 3))[0], tags))
        if shape == "three":
            parent_age = self._age(head) + u(24, 32)
            if rng.random() < 0.7:
                out.append(
                    self.person(
                        rng,
                        age=parent_age,
                        sex="M",
                        relation="父亲",
                        residency=residency,
                        surname=head.name[0],
                        tags=tags,
                    )
                )
            out.append(
                self.person(rng, age=parent_age - u(0, 4), sex="F", relation="母亲", residency=residency, tags=tags)
            )
        return out

    @staticmethod
    def _age(person: PersonRow) -> float:
        return (TODAY - person.birth_date).days / 365.25

    def _spouse(self, rng: random.Random, head: PersonRow, residency: str, tags: list[str] | None = None) -> PersonRow:
        sex = "F" if head.sex == "M" else "M"
        age = max(19.0, self._age(head) + (rng.uniform(-6, 1) if sex == "F" else rng.uniform(-1, 6)))
        return self.person(rng, age=age, sex=sex, relation="配偶", residency=residency, tags=tags)

    def _children(
        self, rng: random.Random, parents: list[PersonRow], residency: str, count: int, tags: list[str] | None = None
    ) -> list[PersonRow]:
        youngest_parent = min(self._age(p) for p in parents)
        father = next((p for p in parents if p.sex == "M"), parents[0])
        out = []
        for _ in range(count):
            oldest = max(0.5, min(30.0, youngest_parent - 21))
            age = rng.uniform(0, oldest)
            sex = rng.choice("MF")
            out.append(
                self.person(
                    rng,
                    age=age,
                    sex=sex,
                    relation="子" if sex == "M" else "女",
                    residency=residency,
                    surname=father.name[0],
                    tags=tags,
                )
            )
        return out

    # -- one building -----------------------------------------------------------------------------------
    def households(
        self, rng: random.Random, *, style: str, floors: int, units: int, per_floor: int
    ) -> list[HouseholdRow]:
        """The dwellings of a building (unit, floor, room unique) with their type and people."""
        dwellings: list[tuple[str, int, str]] = []
        if style in ("slab", "tower"):
            for unit in range(1, units + 1):
                for floor in range(1, floors + 1):
                    dwellings.extend((str(unit), floor, f"{floor}{k:02d}") for k in range(1, per_floor + 1))
        elif style in ("low", "mixed"):
            first = 2 if style == "mixed" else 1
            for floor in range(first, floors + 1):
                dwellings.extend(("", floor, f"{floor}{k:02d}") for k in range(1, per_floor + 1))
        elif style == "bungalow":
            dwellings.extend(("", 1, f"{k}号") for k in range(1, per_floor + 1))
        elif style == "house":
            dwellings.extend(("", k, f"{k}01") for k in range(1, per_floor + 1))
        vacant, rental, collective, poor = {
            "slab": (0.06, 0.12, 0.0, 0.03),
            "tower": (0.12, 0.15, 0.0, 0.005),
            "low": (0.05, 0.12, 0.03, 0.06),
            "mixed": (0.06, 0.2, 0.0, 0.03),
            "bungalow": (0.05, 0.1, 0.0, 0.09),
            "house": (0.03, 0.18, 0.0, 0.05),
        }.get(style, (0.0, 0.0, 0.0, 0.0))
        out = []
        for unit_no, floor, room in dwellings:
            r = rng.random()
            kind = (
                "vacant"
                if r < vacant
                else "rental"
                if r < vacant + rental
                else "collective"
                if r < vacant + rental + collective
                else "family"
            )
            out.append(HouseholdRow(unit_no, floor, room, kind, self.members(rng, kind, poor)))
        return out


def protected(person: PersonRow) -> dict[str, str]:
    """The stored form of a person's ID number and phone (cipher, keyed digest, mask), never the plain values."""
    return {**pii.protected_id_number(person.id_number), **pii.protected_phone(person.phone)}
