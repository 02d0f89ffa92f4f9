"""manage.py check_topology: regions that do not nest or partition, buildings outside their grid."""

import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from grids.topology import TOLERANCE_M2, check_topology


class Command(BaseCommand):
    help = (
        "Check the registry's topology: streets, communities and grids outside their parent or overlapping "
        "(within a level, across parents), parts of a parent covered by none of its children, buildings not "
        f"wholly inside their grid or in none, overlapping buildings. Areas under {TOLERANCE_M2:g} m² are "
        "ignored as rounding. Exits with status 1 when anything is wrong."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        problems = check_topology()
        for problem in problems:
            self.stdout.write(str(problem))
        seconds = time.monotonic() - started
        if problems:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(Counter(p.kind for p in problems).items()))
            raise CommandError(
                f"发现 {len(problems)} 个拓扑问题 / {len(problems)} topology problems found ({kinds}; {seconds:.1f} s)"
            )
        self.stdout.write(self.style.SUCCESS(f"拓扑检查通过 / topology OK ({seconds:.1f} s)"))
