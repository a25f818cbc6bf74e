from django.db import migrations, models


def admins_as_the_access_policy_saw_them(apps, schema_editor):
    """Kaikukanta's access policy has always taken is_staff for a Kaikukeskus admin: those
    logins keep exactly the powers they had there, now with Django's permissions to match, and
    a superuser flag without admin access (which gave nothing in Kaikukanta) is cleared."""
    User = apps.get_model("accounts", "User")
    User.objects.filter(is_staff=True, is_superuser=False).update(is_superuser=True)
    User.objects.filter(is_staff=False, is_superuser=True).update(is_superuser=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_municipality_name_sv"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(admins_as_the_access_policy_saw_them, migrations.RunPython.noop),
        *(
            migrations.AlterField(
                model_name=model,
                name="is_staff",
                field=models.BooleanField(
                    default=False,
                    help_text="Kaikukeskus admins only: every right in the Django admin, and every site's and "
                    "region's cards and figures in Kaikukanta.",
                    verbose_name="Django admin access",
                ),
            )
            for model in ("historicaluser", "user")
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(("is_superuser", models.F("is_staff"))), name="user_admin_is_superuser"
            ),
        ),
    ]
