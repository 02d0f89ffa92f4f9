from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditEntry
from audit.selectors import broken_links


class Command(BaseCommand):
    help = "Recompute the audit log's hash chain and report any entry changed, removed or inserted."

    def handle(self, *args, **options):
        problems = list(broken_links())
        for entry_id, reason in problems[:50]:
            self.stderr.write(f"审计记录 #{entry_id} 被篡改 / entry #{entry_id}: {reason}")
        total = AuditEntry.objects.count()
        if problems:
            raise CommandError(f"审计日志校验失败：{len(problems)} 处问题，共 {total} 条 / audit log broken")
        self.stdout.write(self.style.SUCCESS(f"审计日志完整 / audit log intact: {total} entries"))
