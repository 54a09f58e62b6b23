from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "stage3_data.n_plus_one.blog"
    label = "nplus_blog"  # distinct from every other kata's app: tables are nplus_blog_<model>
    verbose_name = "Blog (N+1 kata)"
    default_auto_field = "django.db.models.BigAutoField"
