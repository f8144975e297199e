"""The tests every Setup page of the generic list / add / edit / bulk-delete views (engage.views ObjectListView,
ObjectEditView, BulkDeleteView) must pass, written once, in the manner of NetBox's `ViewTestCases`.

A model's test class inherits `SetupPageTests` and only declares what differs:

    class TestThingPages(SetupPageTests):
        model = Thing
        urls = {"list": "app:thing-list", "add": "app:thing-add", "edit": "app:thing-edit",
                "delete": "app:thing-delete"}
        title = "Things"                      # the list page's heading and the Setup index's link
        verbose_name = "thing"                # as the messages and headings say it
        verbose_name_plural = "things"
        row = "thing-row"                     # data-testid of a list row
        required_labels = ("name",)           # exactly the fields the add form marks "(required)"
        added = {"colour": "red"}             # attribute (dotted path) -> value after an add of valid_data()
        edited = {"colour": "blue"}           # ... after an edit with edit_data(obj)
        refused = [(overrides, field, message), ...]        # add input refused beside `field`
        refused_edits = [(overrides, field, message), ...]  # edit input refused beside `field`

        def create(self, name=None): ...      # a saved object, made through the real service
        def valid_data(self): ...             # the POST data of a valid add (its "name" differs from create()'s)
        def edit_data(self, obj): ...         # the POST data of an edit that renames and changes obj

Each test asserts what the user sees (status code, page text, message, the row on the list, the error beside
its field) and what is stored (the row, its audit entry; nothing at all after a refusal). An override of
None drops that key from the POST data (an unticked box, a field left out).
"""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from engage.models import AuditEntry

ALL_PAGES = ("setup", "list", "add", "edit", "delete")
EVIL_NAME = '<script>alert("x")</script><b>Bold</b>'
UNICODE_NAME = "Приостановлен 🚫 停止"


def page_messages(html):
    """The messages shown at the top of the page, as HTML text (escaped)."""
    return re.findall(r'<div class="alert alert-\w+" role="alert">(.*?)</div>', html, re.S)


def field_labels(html):
    """{field: the classes of its label (or a group's legend)}."""
    found = re.findall(r'<(?:label|legend)[^>]*class="([^"]*)"[^>]*data-testid="label-(\w+)"', html)
    return {field: classes.split() for classes, field in found}


def field_errors(html, field):
    """The errors shown under a field, as HTML text (escaped)."""
    return re.findall(rf'data-testid="error-{field}">([^<]*)<', html)


def invalid_widgets(html):
    """The names of the inputs marked invalid for sight (Bootstrap's is-invalid)."""
    tags = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
    return {re.search(r'name="([^"]*)"', tag).group(1) for tag in tags
            if re.search(r'class="[^"]*\bis-invalid\b', tag) and 'name="' in tag}


class SetupPageTests:
    """The generic tests of one kind of Setup data; see the module's docstring for what a subclass declares."""

    pytestmark = [pytest.mark.django_db]

    model = None
    urls: dict = {}
    title = ""
    verbose_name = ""
    verbose_name_plural = ""
    row = ""
    required_labels: tuple = ()
    added: dict = {}
    edited: dict = {}
    edit_page_shows: tuple = ()  # further text the edit page of create()'s object shows
    refused: list = []
    refused_edits: list = []

    # ---- what a subclass gives ---------------------------------------------------------------------

    def create(self, name=None):
        raise NotImplementedError

    def valid_data(self) -> dict:
        raise NotImplementedError

    def edit_data(self, obj) -> dict:
        raise NotImplementedError

    def form_data(self, overrides, base=None) -> dict:
        """`base` (valid_data() by default) with the overrides; None drops a key. A subclass may translate
        readable values (names of related rows) to what the form takes."""
        data = {**(self.valid_data() if base is None else base), **overrides}
        return {key: value for key, value in data.items() if value is not None}

    def snapshot(self):
        """Every row of the model and every audit entry: equal before and after a refused request."""
        return (list(self.model.objects.order_by("pk").values()),
                list(AuditEntry.objects.order_by("pk").values_list("pk", flat=True)))

    # ---- helpers -----------------------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc):
        """One test per refused input the subclass declares."""
        for arg, cases in (("refusal", metafunc.cls.refused), ("edit_refusal", metafunc.cls.refused_edits)):
            if arg in metafunc.fixturenames:
                metafunc.parametrize(arg, cases, ids=[f"{field}-{i}" for i, (_o, field, _m) in enumerate(cases)])

    def url(self, page, obj=None):
        if page == "setup":
            return reverse("setup")
        if page == "edit":
            return reverse(self.urls["edit"], args=[obj.pk])
        return reverse(self.urls[page])

    def post_data(self, page, obj):
        """What each page's form would send (an index or a list has no form: an empty POST)."""
        return {"add": self.valid_data(), "edit": self.edit_data(obj),
                "delete": {"pk": [obj.pk], "confirm": "1"}}.get(page, {})

    def row_of(self, html, obj):
        """The list row of obj (found by its check box), or None."""
        rows = re.findall(rf'<tr data-testid="{self.row}"[^>]*>(.*?)</tr>', html, re.S)
        found = [row for row in rows if f'name="pk" value="{obj.pk}"' in row]
        assert len(found) <= 1
        return found[0] if found else None

    def list_rows(self, html):
        return re.findall(rf'<tr data-testid="{self.row}"[^>]*>', html)

    def stored(self, obj, expected):
        def value(path):
            result = obj
            for attr in path.split("."):
                result = getattr(result, attr)
            return result

        return {path: value(path) for path in expected}

    def assert_refused(self, response, field, message):
        assert response.status_code == 400
        html = response.content.decode()
        assert "Nothing was saved." in html
        assert field_errors(html, field) == [escape(message)]
        # Beside its own field only: that label turns red, that input is marked, no other.
        assert {name for name, classes in field_labels(html).items() if "invalid-label" in classes} == {field}
        assert invalid_widgets(html) == {field}
        return html

    def audit_entries(self, action, obj_id):
        return list(AuditEntry.objects.filter(action=action, object_type=self.verbose_name, object_id=obj_id))

    # ---- who may --------------------------------------------------------------------------------------

    @pytest.mark.parametrize("page", ALL_PAGES)
    def test_anonymous_is_sent_to_login(self, client, page):
        obj = self.create()
        url = self.url(page, obj)
        before = self.snapshot()
        for response in (client.get(url), client.post(url, self.post_data(page, obj))):
            assert response.status_code == 302
            assert response["Location"] == f"/login/?next={url}"
        assert self.snapshot() == before

    @pytest.mark.parametrize("page", ALL_PAGES)
    def test_support_gets_403(self, support_client, page):
        obj = self.create()
        url = self.url(page, obj)
        before = self.snapshot()
        for response in (support_client.get(url), support_client.post(url, self.post_data(page, obj))):
            assert response.status_code == 403
            assert "Setup is for Administrators." in response.content.decode()
        assert self.snapshot() == before

    @pytest.mark.parametrize("page", ("setup", "list", "add", "edit"))
    def test_administrator_gets_200(self, admin_client, page):
        response = admin_client.get(self.url(page, self.create()))
        assert response.status_code == 200

    def test_setup_index_links_the_list(self, admin_client):
        html = admin_client.get(self.url("setup")).content.decode()
        assert "Accounts and Roles" in html
        assert f'href="{self.url("list")}">{self.title}</a>' in html

    # ---- list -----------------------------------------------------------------------------------------

    def test_list_shows_each_row_with_its_check_box_and_edit_link(self, admin_client):
        obj = self.create()
        response = admin_client.get(self.url("list"))
        assert response.status_code == 200
        html = response.content.decode()
        assert f">{self.title}</h1>" in html
        assert f'href="{self.url("add")}" data-testid="add">Add</a>' in html
        assert f'action="{self.url("delete")}"' in html
        assert len(self.list_rows(html)) == self.model.objects.count()
        row = self.row_of(html, obj)
        assert f'<a href="{self.url("edit", obj)}"' in row and f">{escape(obj.name)}</a>" in row

    # ---- add / edit -----------------------------------------------------------------------------------

    def test_add_form_marks_the_required_fields(self, admin_client):
        html = admin_client.get(self.url("add")).content.decode()
        labels = field_labels(html)
        assert {name for name, classes in labels.items() if "required-label" in classes} == set(self.required_labels)
        assert not any("invalid-label" in classes for classes in labels.values())
        assert "Nothing was saved." not in html and not invalid_widgets(html)
        assert f"Add {self.verbose_name}</h1>" in html
        assert '<button class="btn btn-primary" type="submit" name="save" value="1">Save</button>' in html
        assert 'name="save_new" value="1">Save/New</button>' in html
        assert f'href="{self.url("list")}">Cancel</a>' in html

    def test_add_with_save_goes_back_to_the_list_showing_the_new_row(self, admin_client):
        data = self.form_data({"save": "1"})
        count = self.model.objects.count()
        response = admin_client.post(self.url("add"), data, follow=True)
        assert response.redirect_chain == [(self.url("list"), 302)]
        html = response.content.decode()
        assert page_messages(html) == [escape(f"{self.verbose_name.capitalize()} “{data['name']}” added.")]
        assert self.model.objects.count() == count + 1
        obj = self.model.objects.get(name=data["name"])
        assert self.stored(obj, self.added) == self.added
        assert f">{escape(obj.name)}</a>" in self.row_of(html, obj)

    def test_save_new_shows_a_confirmation_and_an_empty_form(self, admin_client):
        data = self.form_data({"save_new": "1"})
        response = admin_client.post(self.url("add"), data, follow=True)
        assert response.redirect_chain == [(self.url("add"), 302)]
        html = response.content.decode()
        assert page_messages(html) == [
            escape(f"{self.verbose_name.capitalize()} “{data['name']}” added. Add the next one below.")]
        assert response.context["form"].is_bound is False
        assert re.search(r'<input type="text" name="name"(?![^>]*value=)[^>]*>', html)
        assert "Nothing was saved." not in html
        assert self.model.objects.filter(name=data["name"]).exists()

    def test_edit_saves_and_the_list_shows_it(self, admin_client):
        obj = self.create()
        old_name, url = obj.name, self.url("edit", obj)
        html = admin_client.get(url).content.decode()
        assert f"Edit {self.verbose_name} “{escape(old_name)}”</h1>" in html
        assert f'name="name" value="{escape(old_name)}"' in html
        for text in self.edit_page_shows:
            assert text in html
        data = self.form_data({"save": "1"}, base=self.edit_data(obj))
        assert data["name"] != old_name, "edit_data() must rename the object"
        response = admin_client.post(url, data, follow=True)
        assert response.redirect_chain == [(self.url("list"), 302)]
        html = response.content.decode()
        assert page_messages(html) == [escape(f"{self.verbose_name.capitalize()} “{data['name']}” saved.")]
        obj.refresh_from_db()
        assert obj.name == data["name"]
        assert self.stored(obj, self.edited) == self.edited
        row = self.row_of(html, obj)
        assert f">{escape(data['name'])}</a>" in row and f">{escape(old_name)}</a>" not in row

    def test_refused_input_is_shown_beside_its_field(self, admin_client, refusal):
        overrides, field, message = refusal
        self.create()  # one that exists already, for the refusals of a name taken
        before = self.snapshot()
        response = admin_client.post(self.url("add"), self.form_data({**overrides, "save": "1"}))
        self.assert_refused(response, field, message)
        assert self.snapshot() == before

    def test_refused_edit_is_shown_beside_its_field_under_the_stored_name(self, admin_client, edit_refusal):
        overrides, field, message = edit_refusal
        obj = self.create()
        before = self.snapshot()
        data = self.form_data({**overrides, "save": "1"}, base=self.edit_data(obj))
        html = self.assert_refused(admin_client.post(self.url("edit", obj), data), field, message)
        # The heading names the stored object, not the rejected input.
        assert f"Edit {self.verbose_name} “{escape(obj.name)}”</h1>" in html
        assert self.snapshot() == before

    @pytest.mark.parametrize("name", (pytest.param(EVIL_NAME, id="html"), pytest.param(UNICODE_NAME, id="unicode")))
    def test_names_are_stored_as_typed_and_shown_escaped(self, admin_client, name):
        response = admin_client.post(self.url("add"), self.form_data({"name": name, "save": "1"}), follow=True)
        obj = self.model.objects.get(name=name)
        pages = [response.content.decode(), admin_client.get(self.url("edit", obj)).content.decode(),
                 admin_client.post(self.url("delete"), {"pk": [obj.pk]}).content.decode(),
                 admin_client.post(self.url("delete"), {"pk": [obj.pk], "confirm": "1"}, follow=True).content.decode()]
        assert f">{escape(name)}</a>" in pages[0]
        assert f'value="{escape(name)}"' in pages[1]
        assert f">{escape(name)}</span>" in pages[2]
        assert page_messages(pages[3]) == [escape(f"Deleted 1 of the checked {self.verbose_name_plural}: “{name}”.")]
        for html in pages:
            assert escape(name) in html
            if escape(name) != name:
                assert name not in html and "<script>alert" not in html

    def test_edit_of_a_missing_object_is_404(self, admin_client):
        obj = self.create()
        url = self.url("edit", obj)
        data = self.form_data({"save": "1"}, base=self.edit_data(obj))
        self.model.objects.filter(pk=obj.pk).delete()  # another administrator deleted it meanwhile
        before = self.snapshot()
        for response in (admin_client.get(url), admin_client.post(url, data),
                         admin_client.get(reverse(self.urls["edit"], args=[999_999]))):
            assert response.status_code == 404
            assert "Page not found" in response.content.decode()
        assert self.snapshot() == before

    # ---- delete ---------------------------------------------------------------------------------------

    def test_delete_with_nothing_checked_says_so(self, admin_client):
        self.create()
        before = self.snapshot()
        for data, message in (({}, f"No {self.verbose_name_plural} were checked: nothing was deleted."),
                              ({"pk": ["999999", "junk"], "confirm": "1"},
                               f"The checked {self.verbose_name_plural} no longer exist: nothing was deleted.")):
            response = admin_client.post(self.url("delete"), data, follow=True)
            assert response.redirect_chain == [(self.url("list"), 302)]
            assert page_messages(response.content.decode()) == [escape(message)]
        # The delete URL has no page of its own.
        assert admin_client.get(self.url("delete")).url == self.url("list")
        assert self.snapshot() == before

    def test_delete_asks_for_confirmation_first_then_deletes_only_the_checked_rows(self, admin_client):
        first, second, kept = (self.create(name=name) for name in ("Delete me 1", "Delete me 2", "Keep me"))
        others = set(self.model.objects.values_list("pk", flat=True)) - {first.pk, second.pk}
        before = self.snapshot()
        response = admin_client.post(self.url("delete"), {"pk": [first.pk, second.pk]})
        assert response.status_code == 200
        html = response.content.decode()
        assert f"Delete 2 {self.verbose_name_plural}?</h1>" in html
        listed = re.search(r'data-testid="delete-list">(.*?)</ul>', html, re.S).group(1)
        assert re.findall(r'<span class="name-wrap fw-semibold">(.*?)</span>', listed) == ["Delete me 1", "Delete me 2"]
        assert "will-keep" not in html and 'data-testid="confirm-delete">Yes, delete</button>' in html
        assert re.findall(r'<input type="hidden" name="pk" value="(\d+)">', html) == [str(first.pk), str(second.pk)]
        assert self.snapshot() == before  # nothing is deleted before the confirmation

        response = admin_client.post(self.url("delete"), {"pk": [first.pk, second.pk], "confirm": "1"}, follow=True)
        assert response.redirect_chain == [(self.url("list"), 302)]
        html = response.content.decode()
        assert page_messages(html) == [
            escape(f"Deleted 2 of the checked {self.verbose_name_plural}: “Delete me 1”, “Delete me 2”.")]
        assert set(self.model.objects.values_list("pk", flat=True)) == others
        assert self.row_of(html, first) is None and self.row_of(html, second) is None
        assert self.row_of(html, kept) is not None

    # ---- audit ----------------------------------------------------------------------------------------

    def test_add_is_audited(self, admin_client, admin_user):
        data = self.form_data({"save": "1"})
        admin_client.post(self.url("add"), data)
        obj = self.model.objects.get(name=data["name"])
        [entry] = self.audit_entries("create", obj.pk)
        assert (entry.actor, entry.object_repr, entry.after["name"]) == (admin_user, data["name"], data["name"])

    def test_edit_is_audited(self, admin_client, admin_user):
        obj = self.create()
        data = self.form_data({"save": "1"}, base=self.edit_data(obj))
        admin_client.post(self.url("edit", obj), data)
        [entry] = self.audit_entries("update", obj.pk)
        assert (entry.actor, entry.object_repr) == (admin_user, data["name"])
        assert (entry.before["name"], entry.after["name"]) == (obj.name, data["name"])

    def test_delete_is_audited(self, admin_client, admin_user):
        obj = self.create()
        admin_client.post(self.url("delete"), {"pk": [obj.pk], "confirm": "1"})
        [entry] = self.audit_entries("delete", obj.pk)
        assert (entry.actor, entry.object_repr, entry.before["name"]) == (admin_user, obj.name, obj.name)
