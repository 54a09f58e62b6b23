"""The admin, configured for editors who live in it all day."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import ngettext

from .models import Article, Author, Category

M = TypeVar("M", bound=Model)
DATE_UNITS = ("year", "month", "day")
LAST_DRILLDOWN_YEAR = 9998  # a year's drill-down ends on January 1st of the next


class CmsAdmin(admin.ModelAdmin[M]):
    """The ModelAdmin of this site: input Django would pass on to PostgreSQL (and fail on with a
    500) is a 400 that says what is wrong (``BadRequest``, rendered by ``urls.handler400``)."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        for name, values in request.GET.lists():  # ?status__exact=%00 reaches the WHERE clause
            if any("\x00" in value for value in values):
                raise BadRequest(f"{name}: NUL characters are not allowed")
        self.check_date_drilldown(request)
        for pk in request.POST.getlist(ACTION_CHECKBOX_NAME):  # an action on pk "abc"
            try:
                self.opts.pk.to_python(pk)
            except ValidationError:
                raise BadRequest(f"{ACTION_CHECKBOX_NAME}: {pk!r} is not an id") from None
        return super().changelist_view(request, extra_context)

    def check_date_drilldown(self, request: HttpRequest) -> None:
        """Refuse a date drill-down that Django would crash on (a framework bug, a 500).

        ``date_hierarchy`` turns ``?published_at__year=Y&__month=M&__day=D`` into a range from
        that date to the next year, month or day, catching only ValueError: a year too big for
        a C long is an OverflowError, and year 9999 has no next year.
        """
        if not self.date_hierarchy:
            return
        given = [request.GET.get(f"{self.date_hierarchy}__{unit}") for unit in DATE_UNITS]
        year, month, day = given
        if year is None:
            return
        try:
            date(int(year), int(month or 1), int(day or 1))
            in_range = int(year) <= LAST_DRILLDOWN_YEAR
        except (ValueError, OverflowError):
            in_range = False
        if not in_range:
            shown = "-".join(value for value in given if value is not None)
            raise BadRequest(
                f"{self.date_hierarchy}: {shown[:40]} is not a date in the years 1 to "
                f"{LAST_DRILLDOWN_YEAR}"
            )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[M], bool]:
        if "\x00" in search_term:  # the autocomplete's ?term= (the changelist's form refuses it)
            raise BadRequest("term: NUL characters are not allowed")
        return super().get_search_results(request, queryset, search_term)


@admin.register(Author)
class AuthorAdmin(CmsAdmin[Author]):
    list_display = ("name", "email")
    search_fields = ("name", "email")


@admin.register(Category)
class CategoryAdmin(CmsAdmin[Category]):
    list_display = ("name", "slug")
    search_fields = ("name",)


@admin.register(Article)
class ArticleAdmin(CmsAdmin[Article]):
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

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, str | list[str]]:
        """Django's prefill from the query string, with ``?published_at=`` made the split date and
        time widget's [date, time]: a plain string crashes that widget (Django ticket #9739)."""
        initial = super().get_changeform_initial_data(request)
        raw = initial.get("published_at")
        if raw and isinstance(raw, str):
            try:
                when = parse_datetime(raw)
            except ValueError:  # well-formed but impossible, like 2024-02-30
                when = None
            if when is None:
                raise BadRequest(f"published_at: {raw!r} is not a date and time")
            if timezone.is_aware(when):
                when = timezone.localtime(when)
            initial["published_at"] = [when.date().isoformat(), when.time().isoformat()]
        return initial

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
