from django.core.management.base import BaseCommand

from audit import checkpoints, services


class Command(BaseCommand):
    help = (
        "把审计链的当前长度和链首写入库外的检查点文件 / Anchor the audit chain's current length and head MAC in the "
        "checkpoint file outside the database (run from cron, and after rotating AUDIT_KEYS)."
    )

    def handle(self, *args, **options):
        line = services.write_checkpoint()
        if line is None:
            self.stdout.write("审计日志为空，无需检查点 / the audit log is empty: nothing to anchor")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"检查点已写入 / checkpoint written: {line['count']} entries, head {line['head'][:16]}…, "
                f"key {line['key_id']} → {checkpoints.path()}"
            )
        )
