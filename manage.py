#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaikukanta.settings")
    from django.core.management import execute_from_command_line

    from kaikukanta.devserver import runserver_site_url_set

    runserver_site_url_set(sys.argv, os.environ)
    execute_from_command_line(sys.argv)
