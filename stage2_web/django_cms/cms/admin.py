"""The admin, configured for editors who live in it all day."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext

from .models import Article, Author, Category


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin[Author]):
    list_display = ("name", "email")
    search_fields = ("name", "email")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("name", "slug")
    search_fields = ("name",)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
    actions = ("publish",)

    # kata: begin the changelist: columns, filters, search, date drill-down, no N+1 queries
    list_display = ("title", "author_name", "category", "status", "published_at")
    list_filter = ("status", "category")
    search_fields = ("title", "author__name")
    date_hierarchy = "published_at"
    list_select_related = ("author", "category")

    @admin.display(description="Author", ordering="author__name")
    def author_name(self, article: Article) -> str:
        return article.author.name

    # kata: end

    # kata: begin the form: slug filled from the title as you type; timestamps shown read-only
    prepopulated_fields = {"slug": ("title",)}  # noqa: RUF012 (ModelAdmin declares it a ClassVar)
    readonly_fields = ("created_at", "updated_at")
    # kata: end

    def get_readonly_fields(
        self, request: HttpRequest, obj: Article | None = None
    ) -> tuple[str, ...]:
        # kata: begin return super()'s read-only fields, plus "author" on an existing article (obj is not None)
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else (*readonly, "author")
        # kata: end

    def has_publish_permission(self, request: HttpRequest) -> bool:
        """Who may run actions declared with ``permissions=["publish"]``."""
        # kata: begin true when the user has this app's "publish_article" permission
        return request.user.has_perm(f"{self.opts.app_label}.publish_article")  # type: ignore[union-attr]
        # kata: end

    @admin.action(description="Publish selected articles", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        # kata: begin publish the selected drafts now in one UPDATE (also set updated_at; published ones keep their dates); report "N article(s) published." as SUCCESS
        now = timezone.now()  # update() skips save(), so auto_now fields must be set by hand
        count = queryset.filter(status=Article.Status.DRAFT).update(
            status=Article.Status.PUBLISHED, published_at=now, updated_at=now
        )
        message = ngettext("%d article published.", "%d articles published.", count) % count
        self.message_user(request, message, messages.SUCCESS)
        # kata: end
