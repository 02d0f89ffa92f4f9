"""What users type into searches (full ID numbers, phones) never reaches the access log, and an administrator's
search by a full ID number or phone is written to the audit log with the number masked."""

import urllib.error
import urllib.request

import pytest

from audit.models import AuditAction, AuditEntry
from tests import live
from tests.factories import PersonFactory, fake_id_number

ID_NUMBER = fake_id_number(123, birth="19900101")
PHONE = "13912345678"


@pytest.mark.django_db(transaction=True)
def test_the_access_log_keeps_no_query_string_nor_personal_number(tmp_path):
    log = tmp_path / "access.log"
    with live.gunicorn(db_url=live.database_url(), workers=1, access_log=log) as base:
        for path in [
            f"/healthz?q={ID_NUMBER}&phone={PHONE}",
            f"/map/?search={ID_NUMBER[:15]}",
            f"/open311/v2/requests/{ID_NUMBER}.json",
            f"/no-such-page/{PHONE}/",
        ]:
            request = urllib.request.Request(base + path, headers={"Referer": f"{base}/map/?q={ID_NUMBER}"})
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except urllib.error.HTTPError:
                pass
        assert live.wait_for(lambda: log.exists() and log.read_text().count("\n") >= 4, seconds=10)
    text = log.read_text()
    assert '"GET /healthz HTTP/1.1" 200' in text
    assert "/open311/v2/requests/******************.json" in text
    assert "/no-such-page/***********/" in text
    for secret in (ID_NUMBER, ID_NUMBER[:15], PHONE, "q=", "search=", "phone="):
        assert secret not in text


@pytest.mark.django_db
def test_an_admin_search_by_id_number_or_phone_is_audited_with_the_number_masked(client, admin_user):
    person = PersonFactory(id_number=ID_NUMBER, phone=PHONE)
    PersonFactory()
    client.force_login(admin_user)

    response = client.get("/admin/grids/person/", {"q": ID_NUMBER})
    assert response.status_code == 200 and person.name in response.content.decode()
    client.get("/admin/grids/person/", {"q": PHONE})
    client.get("/admin/grids/person/", {"q": person.name})  # a name is no personal number: not a reveal

    entries = list(AuditEntry.objects.filter(action=AuditAction.REVEAL).order_by("id"))
    assert [(e.actor, e.target, e.detail["search"], e.detail["found"]) for e in entries] == [
        (admin_user.username, "grids.person:search", "id_number", [person.pk]),
        (admin_user.username, "grids.person:search", "phone", [person.pk]),
    ]
    assert entries[0].detail["term"] == ID_NUMBER[:6] + "********" + ID_NUMBER[14:]
    assert entries[1].detail["term"] == "139****5678"
    stored = " ".join(str(e.detail) for e in entries)
    assert ID_NUMBER not in stored and PHONE not in stored
