from django.urls import path

from . import views

app_name = "cms"  # reverse("cms:article-detail", ...)

urlpatterns = [
    path("<slug:slug>/", views.article_detail, name="article-detail"),
]
