from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "stage3_data.orm_advanced.shop"
    label = "orm_shop"  # distinct from every other kata's app: tables are orm_shop_<model>
    verbose_name = "Shop (advanced ORM kata)"
    default_auto_field = "django.db.models.BigAutoField"
