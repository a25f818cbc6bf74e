from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OmakaikuConfig(AppConfig):
    name = "omakaiku"
    verbose_name = _("OmaKaiku")
