#!/usr/bin/env python
import os
import sys

# Commands that create, alter or empty tables connect as the schema's owner (DATABASE_OWNER_URL);
# every other command, like the web server, as the runtime role (docs/security.md, "Database roles").
OWNER_COMMANDS = {"migrate", "prepare", "seed_demo", "flush", "backup", "restore", "test"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OWNER_COMMANDS:
        os.environ.setdefault("DATABASE_ROLE", "owner")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
