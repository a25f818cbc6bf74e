from django.db import migrations


def dangling_recovery_codes_delete(apps, schema_editor):
    """Recovery codes whose authenticator app an admin removed (a lost phone) before the admin
    removed them too: a password alone could read them, and they would sign in after a new app."""
    Authenticator = apps.get_model("mfa", "Authenticator")
    with_app = Authenticator.objects.exclude(type="recovery_codes").values("user_id")
    Authenticator.objects.filter(type="recovery_codes").exclude(user_id__in=with_app).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_admin_is_superuser"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(dangling_recovery_codes_delete, migrations.RunPython.noop)]
