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

from cases.models import Case
from grids import pii
from grids.models import Person, RegistryChange

BATCH = 2000
# Every table holding protected values: (cipher, digest) column pairs; an empty cipher holds nothing.
PROTECTED = {
    Person: [("id_number_cipher", "id_number_digest"), ("phone_cipher", "phone_digest")],
    # Change requests keep the proposed ID number and phone until decided (and after, for the record).
    RegistryChange: [("id_number_cipher", "id_number_digest"), ("phone_cipher", "phone_digest")],
    # Callers of desk intakes (一窗受理).
    Case: [("caller_phone_cipher", "caller_phone_digest")],
}
# Tables where most rows hold nothing protected: only those that do are read.
ONLY_HOLDING = {Case: "caller_phone_cipher"}


class Command(BaseCommand):
    help = "把身份证号和电话用最新密钥重新加密，并重算检索哈希 / Re-encrypt personal data under the newest PII key."

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, no_progress, **options):
        for model, pairs in PROTECTED.items():
            changed = self.rotate(model, pairs, no_progress=no_progress)
            name = model._meta.verbose_name_plural
            self.stdout.write(self.style.SUCCESS(f"已用最新密钥重新加密 {changed} 条 / re-encrypted {changed} {name}"))

    def rotate(self, model, pairs, *, no_progress: bool) -> int:
        columns = [column for pair in pairs for column in pair]
        changed, last_id = 0, 0
        rows = model.objects.exclude(**{ONLY_HOLDING[model]: ""}) if model in ONLY_HOLDING else model.objects.all()
        bar = tqdm(total=rows.count(), unit="条", desc=model._meta.model_name, disable=no_progress)
        while True:
            with transaction.atomic():
                batch = list(
                    rows.select_for_update().filter(pk__gt=last_id).order_by("pk").only("pk", *columns)[:BATCH]
                )
                if not batch:
                    break
                for row in batch:
                    for cipher, digest in pairs:
                        token = getattr(row, cipher)
                        if token:
                            setattr(row, digest, pii.digest(pii.decrypt(token)))
                            setattr(row, cipher, pii.rotate(token))
                model.objects.bulk_update(batch, columns)
            changed += len(batch)
            last_id = batch[-1].pk
            bar.update(len(batch))
        bar.close()
        return changed
