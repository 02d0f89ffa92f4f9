"""Re-encrypt every ID number and phone under the newest PII key, and recompute their keyed hashes.

Key rotation, step by step (docs/security.md):
1. generate a new key:
   .venv/bin/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
2. put it FIRST in PII_KEYS, keeping the old ones after it (new data is written with the first key, old
   tokens still decrypt with the others); restart the service;
3. run this command: every token is rewritten under the first key (and, if PII_HASH_KEY changed, every
   digest is recomputed from the decrypted value);
4. remove the old keys from PII_KEYS and restart.
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from grids import pii
from grids.models import Person

BATCH = 2000


class Command(BaseCommand):
    help = "把身份证号和电话用最新密钥重新加密，并重算检索哈希 / Re-encrypt personal data under the newest PII key."

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, no_progress, **options):
        total = Person.objects.count()
        changed = 0
        bar = tqdm(total=total, unit="人", desc="rotate", disable=no_progress)
        last_id = 0
        while True:
            with transaction.atomic():
                batch = list(
                    Person.objects.select_for_update()
                    .filter(pk__gt=last_id)
                    .order_by("pk")
                    .only("pk", "id_number_cipher", "id_number_digest", "phone_cipher", "phone_digest")[:BATCH]
                )
                if not batch:
                    break
                for person in batch:
                    id_number = pii.decrypt(person.id_number_cipher)
                    person.id_number_cipher = pii.rotate(person.id_number_cipher)
                    person.id_number_digest = pii.digest(id_number)
                    if person.phone_cipher:
                        phone = pii.decrypt(person.phone_cipher)
                        person.phone_cipher = pii.rotate(person.phone_cipher)
                        person.phone_digest = pii.digest(phone)
                Person.objects.bulk_update(
                    batch, ["id_number_cipher", "id_number_digest", "phone_cipher", "phone_digest"]
                )
            changed += len(batch)
            last_id = batch[-1].pk
            bar.update(len(batch))
        bar.close()
        self.stdout.write(self.style.SUCCESS(f"已用最新密钥重新加密 {changed} 人 / re-encrypted {changed} people"))
