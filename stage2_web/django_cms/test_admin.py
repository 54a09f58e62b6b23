"""The admin, driven through Django's test client as an editor would use it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib import messages
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from .conftest import ArticleFactory

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PUBLISHED = "published"  # Article.Status.PUBLISHED: a TextChoices member is a str
CHANGELIST = "admin:cms_article_changelist"
ADD = "admin:cms_article_add"


def titles(response: Response) -> list[str]:
    """The titles in a changelist response, in display order."""
    return [article.title for article in response.context["cl"].result_list]


def form_data(**fields: Any) -> dict[str, Any]:
    """A POST body for the article form (the publish date is a split date + time widget)."""
    when = fields.pop("published_at", None)
    data = {"title": "", "slug": "", "body": "", "status": "draft", **fields}
    data["published_at_0"] = when.strftime("%Y-%m-%d") if when else ""
    data["published_at_1"] = when.strftime("%H:%M:%S") if when else ""
    return data


@pytest.mark.task(4)
def test_changelist_shows_the_columns(make_article: ArticleFactory, admin_client: Client) -> None:
    make_article(
        "Django tips", author="Ada Lovelace", category="Python", status=PUBLISHED, published_at=NOW
    )

    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    headers = [
        h for h in result_headers(response.context["cl"]) if "action-toggle" not in str(h["text"])
    ]
    assert [capfirst(str(h["text"])) for h in headers] == [
        "Title",
        "Author",
        "Category",
        "Status",
        "Published at",
    ], "list_display: title, author_name (shown as 'Author'), category, status, published_at"
    assert all(h["sortable"] for h in headers), (
        "every column sorts; a display method needs ordering= to be sortable"
    )
    html = response.content.decode()
    for cell in ("Ada Lovelace", "Python", '<td class="field-status">Published</td>'):
        assert cell in html, f"the row shows {cell!r} (status by its label, not its stored value)"


@pytest.mark.task(4)
def test_author_column_sorts_by_the_authors_name(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    from .cms.models import Author

    # Three orders that disagree: by id (creation), by e-mail, and by name.
    for name, email in (("Zoe Zimmer", "a@example.com"), ("Ada Ames", "z@example.com"),
                        ("Max Moss", "m@example.com")):  # fmt: skip
        make_article(f"By {name}", author=Author.objects.create(name=name, email=email).name)
    url = reverse(CHANGELIST)

    def sort_url(response: Response) -> str:
        (author,) = [h for h in result_headers(response.context["cl"]) if h["text"] == "Author"]
        return str(author["url_primary"])

    ascending = admin_client.get(url + sort_url(admin_client.get(url)))
    assert titles(ascending) == ["By Ada Ames", "By Max Moss", "By Zoe Zimmer"], (
        "the Author column sorts by the author's name (ordering='author__name')"
    )
    descending = admin_client.get(url + sort_url(ascending))
    assert titles(descending) == ["By Zoe Zimmer", "By Max Moss", "By Ada Ames"]


@pytest.mark.task(4)
def test_changelist_queries_do_not_grow_with_rows(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    url = reverse(CHANGELIST)
    for n in range(2):
        make_article(f"Article {n}", author=f"Writer {n}", category=f"Section {n}")
    admin_client.get(url)  # warm up: session, content types
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for n in range(2, 8):
        make_article(f"Article {n}", author=f"Writer {n}", category=f"Section {n}")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)

    assert "Writer 7" in response.content.decode(), "the Author column shows the author's name"
    assert len(many) == len(few), (
        f"{len(few)} queries for 2 rows but {len(many)} for 8: an N+1; a display method that "
        "follows a foreign key, or a nullable FK column, needs list_select_related"
    )


@pytest.mark.task(4)
def test_filters_by_status_and_category_and_drills_down_by_date(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    make_article("Draft one", category="Python")
    live = make_article("Live one", category="Go", status=PUBLISHED, published_at=NOW)
    url = reverse(CHANGELIST)

    response = admin_client.get(url)
    filters = [str(spec.title) for spec in response.context["cl"].filter_specs]
    assert filters == ["status", "category"], "list_filter: status, then category"
    assert "?published_at__year=2024" in response.content.decode(), (
        "date_hierarchy on published_at offers a year / month / day drill-down"
    )
    assert titles(admin_client.get(url, {"status__exact": "draft"})) == ["Draft one"]
    assert titles(admin_client.get(url, {"status__exact": "published"})) == ["Live one"]
    category = {"category__id__exact": str(live.category_id)}
    assert titles(admin_client.get(url, category)) == ["Live one"]


@pytest.mark.task(4)
def test_search_finds_by_title_and_author_name(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    make_article("Django admin tips", author="Ada Lovelace")
    make_article("Flask in a day", author="Grace Hopper")
    url = reverse(CHANGELIST)

    assert titles(admin_client.get(url, {"q": "admin"})) == ["Django admin tips"], (
        "search_fields includes the title"
    )
    assert titles(admin_client.get(url, {"q": "hopper"})) == ["Flask in a day"], (
        "search_fields follows the relation: author__name"
    )


@pytest.mark.task(8)
def test_publish_action_publishes_selected_drafts(
    make_article: ArticleFactory, admin_client: Client
) -> None:

    old = make_article("Old", status=PUBLISHED, published_at=NOW)
    first, second, left_alone = make_article("D1"), make_article("D2"), make_article("D3")
    old_updated = old.updated_at
    url = reverse(CHANGELIST)

    before = timezone.now()
    selected = [old.pk, first.pk, second.pk]
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(
            url, {"action": "publish", "_selected_action": selected, "index": "0"}
        )
    after = timezone.now()

    assert response.status_code == 302, "an action that returns None redirects to the changelist"
    for article in (first, second):
        article.refresh_from_db()
        assert article.status == PUBLISHED, "selected drafts are published"
        assert article.published_at is not None and before <= article.published_at <= after
        assert before <= article.updated_at <= after, (
            "update() bypasses save(), so auto_now does not fire: set updated_at yourself"
        )
    old.refresh_from_db()
    assert (old.published_at, old.updated_at) == (NOW, old_updated), (
        "an article that was already published keeps its publish date (only drafts change)"
    )
    left_alone.refresh_from_db()
    assert left_alone.status == "draft", "articles not selected are not touched"
    updates = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "cms_article"')]
    assert len(updates) == 1, "one UPDATE for the whole selection, not a save() per article"
    sent = [(m.level, m.message) for m in get_messages(response.wsgi_request)]
    assert sent == [(messages.SUCCESS, "2 articles published.")], (
        "message_user with the number actually published, at level SUCCESS"
    )

    admin_client.get(url)  # follow the redirect, as a browser would: the message is shown, consumed
    response = admin_client.post(
        url, {"action": "publish", "_selected_action": [left_alone.pk], "index": "0"}
    )
    sent = [(m.level, m.message) for m in get_messages(response.wsgi_request)]
    assert sent == [(messages.SUCCESS, "1 article published.")], "singular for one (ngettext)"


def staff_client(username: str, *codenames: str) -> Client:
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username, f"{username}@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def action_choices(response: Response) -> list[str]:
    form = response.context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices if name]


@pytest.mark.task(7)
def test_only_staff_with_the_publish_permission_can_publish(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    from django.contrib.auth.models import User

    article = make_article("Pending")
    url = reverse(CHANGELIST)

    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    reader = Client()
    reader.force_login(User.objects.create_user("reader", "reader@example.com"))
    response = reader.get(url)
    assert response.status_code == 302, "a logged-in user who is not staff is not let in"
    assert response["Location"] == "/admin/login/?next=/admin/cms/article/"

    writer = staff_client("writer", "view_article", "change_article")
    response = writer.get(url)
    assert response.status_code == 200, "staff with view/change permission see the changelist"
    assert "publish" not in action_choices(response), (
        "the publish action is offered only to users with cms.publish_article"
    )
    writer.post(url, {"action": "publish", "_selected_action": [article.pk], "index": "0"})
    article.refresh_from_db()
    assert article.status == "draft", "posting the action anyway publishes nothing"

    editor = staff_client("chief", "view_article", "change_article", "publish_article")
    assert "publish" in action_choices(editor.get(url)), (
        "has_publish_permission checks '<app_label>.publish_article' (the app label is part of it)"
    )
    assert "publish" in action_choices(admin_client.get(url)), "superusers have every permission"


@pytest.mark.task(5)
def test_add_form_prepopulates_the_slug_and_saves(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    from .cms.models import Article

    seed = make_article("Seed", author="Ada Lovelace")
    ada = seed.author

    response = admin_client.get(reverse(ADD))
    assert response.status_code == 200
    adminform = response.context["adminform"]
    prepopulated = [
        (p["field"].name, [d.name for d in p["dependencies"]])
        for p in adminform.prepopulated_fields
    ]
    assert prepopulated == [("slug", ["title"])], "prepopulated_fields fills slug from title"
    assert "author" in adminform.form.fields, "a new article needs its author chosen"
    assert set(adminform.readonly_fields) == {"created_at", "updated_at"}, (
        "timestamps are shown read-only; nothing else is read-only on a new article"
    )

    data = form_data(title="Brand new", slug="brand-new", author=ada.pk, category=seed.category_id)
    response = admin_client.post(reverse(ADD), data)
    assert response.status_code == 302, "a valid article is saved and the editor is redirected"
    created = Article.objects.get(slug="brand-new")
    assert (created.title, created.author, created.status) == ("Brand new", ada, "draft")
    sent = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(sent) == 1 and "Brand new" in sent[0], "the success message names the article"


@pytest.mark.task(6)
def test_change_form_keeps_author_and_timestamps_read_only(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    from .cms.models import Author

    article = make_article("Mine", author="Ada Lovelace")
    grace = Author.objects.create(name="Grace Hopper", email="grace@example.com")
    url = reverse("admin:cms_article_change", args=[article.pk])

    response = admin_client.get(url)
    assert response.status_code == 200
    adminform = response.context["adminform"]
    assert set(adminform.readonly_fields) == {"author", "created_at", "updated_at"}, (
        "on an existing article the author is read-only, next to the timestamps"
    )
    assert "author" not in adminform.form.fields, "a read-only field has no form input"

    data = form_data(
        title="Mine, edited", slug="mine", author=grace.pk, category=article.category_id
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, "the rest of the form still saves"
    article.refresh_from_db()
    assert article.title == "Mine, edited", "editable fields change"
    assert article.author.name == "Ada Lovelace", "a posted author is ignored: it is read-only"


@pytest.mark.task(5)
def test_bad_input_is_a_form_error_not_a_500(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    from .cms.models import Article, Category

    existing = make_article("Hello", slug="hello")
    base = {"author": existing.author_id, "category": existing.category_id}

    response = admin_client.post(reverse(ADD), form_data(title="Hello again", slug="hello", **base))
    assert response.status_code == 200, "a duplicate slug re-renders the form (no IntegrityError)"
    errors = response.context["adminform"].form.errors
    assert errors["slug"] == ["Article with this Slug already exists."]

    undated = form_data(title="Undated", slug="undated", status="published", **base)
    response = admin_client.post(reverse(ADD), undated)
    assert response.status_code == 200, "the check constraint is validated by the form too"
    assert response.context["adminform"].form.non_field_errors() == [
        "A published article needs a publish date."
    ]
    assert list(Article.objects.values_list("slug", flat=True)) == ["hello"], "nothing was saved"
    assert Category.objects.count() == 1


@pytest.mark.task(4)
def test_hostile_changelist_input_is_a_400_that_says_why(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    make_article("Draft one")
    url = reverse(CHANGELIST)
    autocomplete = reverse("admin:autocomplete")
    cases = {
        # PostgreSQL refuses NUL in text: without a check, the query fails with a 500
        f"{url}?status__exact=%00": "status__exact: NUL characters are not allowed",
        f"{autocomplete}?term=a%00&app_label=cms&model_name=article&field_name=author": (
            "term: NUL characters are not allowed"
        ),
        # Django's date drill-down builds datetime(year, ...) and the range's end unchecked
        f"{url}?published_at__year={'9' * 20}": (
            f"published_at: {'9' * 20} is not a date in the years 1 to 9998"
        ),
        f"{url}?published_at__year=9999": "published_at: 9999 is not a date in the years 1 to 9998",
        f"{url}?published_at__year=2024&published_at__month=13": (
            "published_at: 2024-13 is not a date in the years 1 to 9998"
        ),
    }
    for path, reason in cases.items():
        response = admin_client.get(path)
        assert (response.status_code, response.content.decode()) == (400, f"{reason}\n"), path
    assert titles(admin_client.get(url, {"status__exact": "draft"})) == ["Draft one"], (
        "the same filter without NUL goes through"
    )
    drilled = admin_client.get(url, {"published_at__year": "9998"})
    assert drilled.status_code == 200, "the last year with a next year drills down as usual"


@pytest.mark.task(8)
def test_an_action_on_an_id_that_is_not_a_number_is_a_400(
    make_article: ArticleFactory, admin_client: Client
) -> None:
    draft = make_article("Draft one")
    url = reverse(CHANGELIST)
    bad_ids = admin_client.post(
        url, {"action": "publish", "_selected_action": ["abc", draft.pk], "index": "0"}
    )
    assert (bad_ids.status_code, bad_ids.content.decode()) == (
        400,
        "_selected_action: 'abc' is not an id\n",
    ), "Django's pk__in filter raises ValueError on a pk that is not a number: a 500"
    draft.refresh_from_db()
    assert draft.status == "draft", "a refused action changes nothing"
    good = admin_client.post(
        url, {"action": "publish", "_selected_action": [draft.pk], "index": "0"}
    )
    assert good.status_code == 302
    draft.refresh_from_db()
    assert draft.status == PUBLISHED, "the same action with a real id goes through"


@pytest.mark.task(5)
def test_prefilled_publish_date_is_parsed_or_a_400(admin_client: Client) -> None:
    prefilled = admin_client.get(reverse(ADD), {"published_at": "2024-05-01 12:00"})
    assert prefilled.status_code == 200, "a string would crash the split date/time widget"
    assert prefilled.context["adminform"].form["published_at"].value() == ["2024-05-01", "12:00:00"]
    for bad in ("garbage", "2024-02-30"):
        response = admin_client.get(reverse(ADD), {"published_at": bad})
        assert (response.status_code, response.content.decode()) == (
            400,
            f"published_at: {bad!r} is not a date and time\n",
        )


@pytest.mark.task(7)
def test_the_publish_permission_can_come_from_a_group(make_article: ArticleFactory) -> None:
    from django.contrib.auth.models import Group, Permission, User

    make_article("Pending")
    editors = Group.objects.create(name="Editors")
    editors.permissions.add(*Permission.objects.filter(codename="publish_article"))
    client = staff_client("grouped", "view_article", "change_article")
    User.objects.get(username="grouped").groups.add(editors)
    assert "publish" in action_choices(client.get(reverse(CHANGELIST))), (
        "ask the user (has_perm), which counts the permissions of its groups too"
    )
