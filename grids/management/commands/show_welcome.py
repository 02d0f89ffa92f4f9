from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print where the service answers and the demo accounts (run by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, url, **options):
        url = url.rstrip("/")
        lines = [
            "",
            "gridmgmt 网格化管理系统",
            f"  指挥地图 map         {url}/map/",
            f"  办理端口 desk        {url}/desk/",
            f"  网格员手机 phone app {url}/m/",
            f"  领导看板 dashboard   {url}/dashboard/",
            f"  政务公开 public      {url}/public/",
            f"  健康检查 health      {url}/healthz",
            f"  图层 OGC API         {url}/ogc/",
            f"  接口文档 API docs    {url}/api/docs",
            f"  管理后台 admin       {url}/admin/",
            f"  Open311              {url}/open311/v2/discovery.json",
        ]
        demo = list(
            get_user_model()
            .objects.filter(
                username__in=["admin", "manager", "dispatcher", "police", "command"]
                + [f"worker{i}" for i in range(1, 10)]
            )
            .order_by("id")
            .values_list("username", flat=True)
        )
        if demo:
            lines.append(f"  演示账号 demo accounts (密码 password: {settings.DEMO_PASSWORD}):")
            lines.append("    " + ", ".join(demo))
            lines.append(f"  Open311 演示 api_key: {settings.OPEN311_DEMO_KEY}")
        lines.append("")
        self.stdout.write("\n".join(lines))
