from django.core.management.base import BaseCommand, CommandError

from audit import checkpoints
from audit.selectors import KINDS, verify

SHOWN = 50


class Command(BaseCommand):
    help = (
        "用审计密钥校验审计链、库外检查点和案件流转记录，逐条指出篡改 / Verify the audit chain with the audit key, "
        "against the checkpoints outside the database, and the case events against their seals; name every finding."
    )

    def handle(self, *args, **options):
        result = verify()
        for finding in result.findings[:SHOWN]:
            self.stderr.write(str(finding))
        if len(result.findings) > SHOWN:
            self.stderr.write(f"… {len(result.findings) - SHOWN} more / 另有 {len(result.findings) - SHOWN} 处")
        keys = ", ".join(f"{key_id}×{n}" for key_id, n in result.key_ids.most_common()) or "-"
        self.stdout.write(
            f"{result.entries} entries (positions up to {result.head}; signing keys {keys}); "
            f"{result.checkpoints} checkpoints in {checkpoints.path()} (latest anchors {result.anchored}); "
            f"{result.case_events} case events"
        )
        if not result.checkpoints and result.entries:
            self.stdout.write(
                self.style.WARNING(
                    "尚无检查点：最新记录未锚定，请运行 audit_checkpoint / no checkpoint yet: the newest entries are "
                    "not anchored (run audit_checkpoint)"
                )
            )
        if result.findings:
            kinds = sorted({finding.kind for finding in result.findings})
            raise CommandError(
                f"审计日志校验失败：{len(result.findings)} 处问题 / audit log verification failed: "
                f"{len(result.findings)} findings ({'; '.join(KINDS[kind] for kind in kinds)})"
            )
        self.stdout.write(self.style.SUCCESS(f"审计日志完整 / audit log intact: {result.entries} entries"))
