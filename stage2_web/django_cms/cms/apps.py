from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "stage2_web.django_cms.cms"
    label = "cms"  # the short name in tables (cms_article), permissions (cms.publish_article)
    verbose_name = "Content"
    default_auto_field = "django.db.models.BigAutoField"
