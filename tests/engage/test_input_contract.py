"""Issue 30, one strict input contract (SPEC §9 "Input bounds"), as a user or a client meets it: each value a
tester got through is a 400 naming the parameter (API) or an error beside the field (pages), and nothing is
saved. Beside tests/engage/test_hostile_input.py (issue 13)."""

import re
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from drf_spectacular.generators import SchemaGenerator

from accounts.bulk import services as bulk
from accounts.models import Account, BulkStatusJob, StatusChange
from billing.models import Package, Payment, UsageRecord, UserPackage
from dunning.models import CollectionStep
from engage.api_paging import MAX_CURSOR_CHARS, NOT_OURS
from engage.clock import parse_iso_date
from engage.errors import DomainError
from engage.input_fields import DATE_PATTERN
from engage.limits import FIRST_DATE, LAST_DATE
from statuses.models import AccountStatusType, StatusReason
from tests.accounts.factories import make_account, reason, status_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

# What the tester typed, and what got through before: none is a date here.
NOT_DATES = ["20261201", "2027-1-1", "12/31/2026", "2026-12-01T00:00", "２０２６-１２-０１", "2026-02-30", "", " "]
OUT_OF_BOUNDS = ["0001-01-01", "1989-12-31", "2200-01-01", "9999-12-31"]
NOW = "immediately_with_no_transaction"


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


# ---------------------------------------------------------------- 1. dates: exactly YYYY-MM-DD, 1990 to 2199


@pytest.mark.parametrize("text", ["20261201", "2027-1-1", "2026-W48-6", "２０２６-１２-０１", "2026-12-01\n",
                                  "2026-02-30"])
def test_the_one_date_parser_reads_only_yyyy_mm_dd(text):
    with pytest.raises(ValueError):
        parse_iso_date(text)
    assert parse_iso_date("2026-12-01") == date(2026, 12, 1)


def test_the_schema_pattern_holds_exactly_the_bounds():
    for day, inside in ((FIRST_DATE, True), (LAST_DATE, True), (FIRST_DATE - timedelta(days=1), False),
                        (LAST_DATE + timedelta(days=1), False)):
        assert bool(re.fullmatch(DATE_PATTERN, day.isoformat())) is inside, day


def _api_date_requests(account, package):
    """(what, method, url, body) of every API input that is a business date, with the date as {day}."""
    change = {"status_type": status_type("Cancelled").pk, "option": "specific_date", "reason": reason("Fraud").pk}
    return [
        ("effective_date", "post", f"/api/v1/accounts/{account.pk}/status-changes/", change, "effective_date"),
        ("effective_date", "post", f"/api/v1/accounts/{account.pk}/status-changes/preview/", change,
         "effective_date"),
        ("start_date", "post", f"/api/v1/accounts/{account.pk}/packages/", {"package": package.pk}, "start_date"),
        ("occurred_on", "post", f"/api/v1/accounts/{account.pk}/usage/", {"amount": "1.00"}, "occurred_on"),
        ("paid_on", "post", f"/api/v1/accounts/{account.pk}/payments/", {"amount": "1.00", "method": "cash"},
         "paid_on"),
        ("until", "post", f"/api/v1/accounts/{account.pk}/collections-exemption/", {"note": "Dispute"}, "until"),
        ("effective_date", "post", "/api/v1/bulk-status-changes/",
         {**change, "account_ids": [account.pk]}, "effective_date"),
        ("start", "get", "/api/v1/statistics/", {}, "start"),
        ("end", "get", "/api/v1/statistics/", {}, "end"),
        ("date", "get", "/api/v1/collections/dry-run/", {}, "date"),
    ]


@pytest.mark.parametrize("day", NOT_DATES + OUT_OF_BOUNDS)
def test_every_api_date_refuses_what_is_not_a_day_in_bounds(api_admin, day):
    account = make_account()
    package = Package.objects.create(name="Fibre", price="30.00")
    for what, method, url, body, field in _api_date_requests(account, package):
        if method == "get":
            response = api_admin.get(url, {field: day})
        else:
            response = api_admin.post(url, {**body, field: day}, format="json")
        assert response.status_code == 400, (what, url, day, response.content)
        messages = response.json()[field]
        assert "must be a date (YYYY-MM-DD)" in messages[0] or "must be from 1990-01-01 to 2199-12-31" in messages[0]
    assert not StatusChange.objects.exists() and not UserPackage.objects.exists()
    assert not UsageRecord.objects.exists() and not Payment.objects.exists() and not BulkStatusJob.objects.exists()
    assert Account.objects.get().collections_exempt_until is None


def test_the_api_says_which_date_and_why(api_support):
    account = make_account()
    url = f"/api/v1/accounts/{account.pk}/usage/"
    assert api_support.post(url, {"amount": "1.00", "occurred_on": "20261201"}, format="json").json() == {
        "occurred_on": ["Date must be a date (YYYY-MM-DD)."]}
    assert api_support.post(url, {"amount": "1.00", "occurred_on": "2027-1-1"}, format="json").json() == {
        "occurred_on": ["Date must be a date (YYYY-MM-DD)."]}
    assert api_support.post(url, {"amount": "1.00", "occurred_on": 20261201}, format="json").json() == {
        "occurred_on": ["Date must be a date (YYYY-MM-DD)."]}
    assert api_support.post(url, {"amount": "1.00", "occurred_on": "2031-05-14"}, format="json").status_code == 201


def _page_date_posts(account):
    """(url, data, the date field) of every page form that takes a business date."""
    change = {"reason": reason("Fraud").pk, "version": account.version}
    return [
        (f"/accounts/{account.pk}/status/{status_type('Cancelled').pk}/",
         {**change, "option": "specific_date"}, "effective_date"),
        (f"/accounts/{account.pk}/components/add/", {**change, "status_type": status_type("Cancelled").pk},
         "effective_date"),
        (f"/accounts/{account.pk}/payments/add/", {"amount": "1.00", "method": "cash"}, "paid_on"),
        (f"/accounts/{account.pk}/collections-exemption/", {"note": "Dispute"}, "until"),
        ("/accounts/bulk-status/", {"status_type": status_type("Cancelled").pk, "option": "specific_date",
                                    "reason": reason("Fraud").pk, "ids": [account.pk]}, "effective_date"),
    ]


@pytest.mark.parametrize("day", ["12/31/2026", "2027-1-1", "20261201", "9999-12-31", "0001-01-01"])
def test_every_page_date_refuses_what_is_not_a_day_in_bounds(admin_client, day):
    account = make_account()
    for url, data, field in _page_date_posts(account):
        response = admin_client.post(url, {**data, field: day})
        assert response.status_code == 400, (url, day, response.status_code)
        page = response.content.decode()
        assert "must be a date (YYYY-MM-DD)" in page or "must be from 1990-01-01 to 2199-12-31" in page, (url, day)
    for url, field in (("/statistics/", "start"), ("/statistics/", "end"), ("/collections/dry-run/", "date"),
                       ("/audit/", "date_from"), ("/audit/", "date_to")):
        response = admin_client.get(url, {field: day})
        assert response.status_code == 400, (url, field, day, response.status_code)
        page = response.content.decode()
        assert "must be a date (YYYY-MM-DD)" in page or "must be from 1990-01-01 to 2199-12-31" in page, (url, day)
    assert not StatusChange.objects.exists() and not Payment.objects.exists() and not BulkStatusJob.objects.exists()
    assert Account.objects.get().collections_exempt_until is None


def test_a_page_date_field_tells_the_browser_the_bounds(support_client):
    page = support_client.get(f"/accounts/{make_account().pk}/payments/add/").content.decode()
    field = re.search(r'<input[^>]*name="paid_on"[^>]*>', page).group(0)
    assert 'type="date"' in field and 'min="1990-01-01"' in field and 'max="2199-12-31"' in field


@pytest.mark.parametrize("day, message", [("9999-12-31", "The day of the pass must be from 1990-01-01 to 2199-12-31."),
                                          ("0001-01-01", "The day of the pass must be from 1990-01-01 to 2199-12-31."),
                                          ("2027-1-1", "The day of the pass must be a date (YYYY-MM-DD).")])
def test_the_dry_run_refuses_a_day_out_of_bounds_on_the_page_and_the_api(admin_client, api_support, day, message):
    page = admin_client.get("/collections/dry-run/", {"date": day})
    assert page.status_code == 400 and message in page.content.decode()
    assert "days overdue" not in page.content.decode()
    api = api_support.get("/api/v1/collections/dry-run/", {"date": day})
    assert (api.status_code, api.json()) == (400, {"date": [message]})


@pytest.mark.parametrize("day", ["2027-1-1", "20261201", "9999-12-31", "0001-01-01"])
def test_a_pass_command_refuses_the_same_dates(day):
    with pytest.raises(CommandError, match=r"--date must be (a date \(YYYY-MM-DD\)|from 1990-01-01 to 2199-12-31)"):
        call_command("run_collections_pass", "--date", day)


def test_every_date_a_client_sends_is_documented_with_its_pattern():
    """A new date input that is not an ApiDateField (or date_parameter) fails here: its schema lacks the pattern."""
    schema = _schema()
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("format") == "date":
                found.append(where)
                assert node.get("pattern") == DATE_PATTERN, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            walk(component, name)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            walk(operation.get("parameters", []), f"{method} {path}")
    assert len(found) >= 9, found  # 6 bodies (status changes and previews share one), 3 query parameters


# ---------------------------------------------------------------- 2. paging: a bad cursor or offset is a 400


def _lists():
    """Every list operation of the schema: (path, its paging parameters)."""
    lists = []
    for path, operations in _schema()["paths"].items():
        names = {p["name"] for p in operations.get("get", {}).get("parameters", [])}
        if "limit" in names:
            lists.append((path, names & {"offset", "cursor"}))
    return lists


def test_every_list_refuses_a_bad_limit_offset_or_cursor_naming_it(api_support):
    account = make_account()
    lists = _lists()
    assert len(lists) >= 11, lists
    for path, paging in lists:
        url = path.replace("{account_id}", str(account.pk)).replace("{id}", "1")
        kind = "cursor" if "cursor" in paging else "offset"
        other = "offset" if kind == "cursor" else "cursor"
        bad = [("limit", ""), ("limit", "0"), ("limit", "501"), ("limit", "ten"), (other, "0"), (other, "cD0x")]
        if kind == "offset":
            bad += [("offset", ""), ("offset", "-1"), ("offset", "99999999999"), ("offset", "1e3")]
        else:
            bad += [("cursor", ""), ("cursor", "garbage"), ("cursor", "A" * 10_000), ("cursor", "AAAA"),
                    ("cursor", "bz0xMDAwMA=="), ("cursor", "cD0x" + "=" * 3)]
        for name, value in bad:
            response = api_support.get(url, {name: value})
            if response.status_code == 404 and "{id}" in path:
                continue  # no such bulk change: nothing to page
            assert response.status_code == 400, (url, name, value[:20], response.content[:200])
            assert list(response.json()) == [name], (url, name, response.json())


def test_a_long_or_forged_cursor_is_not_the_first_page(api_support):
    for _ in range(3):
        make_account()
    first = api_support.get("/api/v1/accounts/?limit=2").json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    assert api_support.get("/api/v1/accounts/", {"cursor": "A" * 10_000}).json() == {"cursor": [NOT_OURS]}
    assert api_support.get("/api/v1/accounts/", {"offset": "-1"}).json() == {
        "offset": ["This list pages with a cursor, not an offset: follow its next link."]}
    assert api_support.get("/api/v1/packages/", {"cursor": "garbage"}).json() == {
        "cursor": ["This list pages with limit and offset, not a cursor."]}
    assert api_support.get("/api/v1/packages/", {"offset": "-1"}).json() == {
        "offset": ["Give a whole number from 0 to 10,000,000."]}
    assert len(api_support.get(first["next"]).json()["results"]) == 1
    assert len(cursor) <= MAX_CURSOR_CHARS


def test_the_schema_documents_what_paging_takes():
    parameters = {p["name"]: p for p in _schema()["paths"]["/api/v1/accounts/"]["get"]["parameters"]}
    assert parameters["cursor"]["schema"]["maxLength"] == MAX_CURSOR_CHARS
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
    offset = {p["name"]: p for p in _schema()["paths"]["/api/v1/packages/"]["get"]["parameters"]}["offset"]
    assert offset["schema"] == {"type": "integer", "minimum": 0, "maximum": 10_000_000}
    assert "400" in _schema()["paths"]["/api/v1/accounts/"]["get"]["responses"]


def test_an_empty_filter_is_a_400_in_the_api_and_any_on_the_page(api_support, support_client):
    make_account()
    for name in ("status_type", "backend_status", "collections"):
        response = api_support.get("/api/v1/accounts/", {name: ""})
        assert (response.status_code, response.json()) == (400, {name: ["Give a value, or leave the parameter out."]})
    assert api_support.get("/api/v1/accounts/", {"q": ""}).status_code == 200
    assert support_client.get("/accounts/", {"status_type": "", "backend_status": ""}).status_code == 200


# ---------------------------------------------------------------- 3. the schema says what the API answers


def test_a_payment_received_answers_reverses_null_and_the_schema_allows_it(api_support):
    account = make_account()
    paid = api_support.post(f"/api/v1/accounts/{account.pk}/payments/",
                            {"amount": "10.00", "paid_on": "2031-05-14", "method": "cash"}, format="json")
    assert paid.status_code == 201 and paid.json()["reverses"] is None
    back = api_support.post(f"/api/v1/accounts/{account.pk}/payments/",
                            {"reverses": paid.json()["id"], "reason": "Bounced"}, format="json")
    assert back.status_code == 201 and back.json()["reverses"] == paid.json()["id"]
    reverses = _schema()["components"]["schemas"]["Payment"]["properties"]["reverses"]
    assert reverses["nullable"] is True and reverses["type"] == "integer"


@pytest.mark.parametrize("path, body, field, message", [
    ("/api/v1/accounts/", {"name": 0, "email": "a@example.com", "bill_day": 1}, "name", "Must be text (a string)."),
    ("/api/v1/accounts/", {"name": "Ana", "email": "a@example.com", "bill_day": "1"}, "bill_day",
     "Must be a whole number."),
    ("/api/v1/accounts/", {"name": "Ana", "email": "a@example.com", "bill_day": True}, "bill_day",
     "Must be a whole number."),
    ("/api/v1/packages/", {"name": "Fibre", "price": 19.95}, "price",
     'Must be a decimal number written as a string, like "19.95".'),
    ("/api/v1/bulk-status-changes/", {"account_ids": ["1"], "status_type": 1, "option": NOW}, "account_ids",
     "Must be a whole number."),
    ("/api/v1/bulk-status-changes/", {"account_ids": [1], "status_type": "1", "option": NOW}, "status_type",
     "Must be an id (a whole number)."),
    ("/api/v1/bulk-status-changes/", {"account_ids": [1], "status_type": 1, "option": NOW, "dry_run": "yes"},
     "dry_run", "Must be true or false."),
])
def test_a_json_value_of_another_type_is_a_400_not_converted(api_admin, path, body, field, message):
    response = api_admin.post(path, body, format="json")
    assert (response.status_code, response.json()) == (400, {field: [message]})
    assert Account.objects.count() == 0 and not Package.objects.exists() and not BulkStatusJob.objects.exists()


# ---------------------------------------------------------------- 4. names hold a visible character


BLANK_NAMES = ["\u3164", "\u3164\u3164\u3164", "\u2800", "\u115f\u1160", "\uffa0", "\u034f", "\u2800 \u3164"]


@pytest.mark.parametrize("blank", BLANK_NAMES)
def test_a_name_of_blanks_or_fillers_is_refused_everywhere(api_admin, admin_client, blank):
    account = make_account()
    answers = {
        "account": api_admin.post("/api/v1/accounts/", {"name": blank, "email": "a@example.com", "bill_day": 1},
                                  format="json"),
        "account edit": api_admin.patch(f"/api/v1/accounts/{account.pk}/", {"name": blank}, format="json"),
        "status type": api_admin.post("/api/v1/status-types/", {"name": blank, "backend_status": "active"},
                                      format="json"),
        "reason": api_admin.post("/api/v1/status-reasons/", {"name": blank, "backend_statuses": ["active"]},
                                 format="json"),
        "package": api_admin.post("/api/v1/packages/", {"name": blank, "price": "1.00"}, format="json"),
        "collection step": api_admin.post("/api/v1/collection-steps/", {
            "name": blank, "days_overdue": 7, "action": "reminder", "subject": "Overdue", "body": "Pay"},
            format="json"),
    }
    for what, response in answers.items():
        assert response.status_code == 400, (what, response.content)
        assert "must contain a visible character" in response.json()["name"][0], (what, response.json())
    page = admin_client.post("/setup/account-status-types/add/", {"name": blank, "backend_status": "active"})
    assert page.status_code == 400 and "must contain a visible character" in page.content.decode()
    assert Account.objects.get().name == "Test Customer" and Account.objects.count() == 1
    assert not AccountStatusType.objects.filter(name=blank).exists()
    assert not StatusReason.objects.filter(name=blank).exists()
    assert not Package.objects.exists() and not CollectionStep.objects.exists()


def test_the_message_names_the_invisible_characters(api_support):
    response = api_support.post("/api/v1/accounts/", {"name": "\u3164", "email": "a@example.com", "bill_day": 1},
                                format="json")
    assert response.json() == {"name": ["Name must contain a visible character (a letter, a digit or a sign), not "
                                        "only blanks or fillers: U+3164."]}


def test_a_name_of_ordinary_blanks_is_required_and_a_name_with_a_filler_inside_is_kept(api_support):
    blank = api_support.post("/api/v1/accounts/", {"name": "\u3000\u00a0 ", "email": "a@example.com",
                                                   "bill_day": 1}, format="json")
    assert blank.json() == {"name": ["Name is required."]}
    kept = api_support.post("/api/v1/accounts/", {"name": "Ana\u3164Silva", "email": "a@example.com",
                                                  "bill_day": 1}, format="json")
    assert kept.status_code == 201


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_line_and_paragraph_separators_are_refused_in_names_and_notes(api_admin, api_support, separator):
    account = make_account()
    name = api_support.post("/api/v1/accounts/", {"name": f"Ana{separator}Silva", "email": "a@example.com",
                                                  "bill_day": 1}, format="json")
    assert name.status_code == 400 and f"U+{ord(separator):04X}" in name.json()["name"][0]
    note = api_support.post(f"/api/v1/accounts/{account.pk}/status-changes/", {
        "status_type": status_type("Suspended").pk, "option": NOW, "reason": reason("Non-payment").pk,
        "note": f"first line{separator}second line"}, format="json")
    assert note.status_code == 400 and f"U+{ord(separator):04X}" in note.json()["note"][0]
    usage = api_support.post(f"/api/v1/accounts/{account.pk}/usage/", {
        "amount": "1.00", "occurred_on": "2031-05-14", "description": f"a{separator}b"}, format="json")
    assert usage.status_code == 400 and f"U+{ord(separator):04X}" in usage.json()["description"][0]
    step = api_admin.post("/api/v1/collection-steps/", {
        "name": "Reminder", "days_overdue": 7, "action": "reminder", "subject": "Overdue",
        "body": f"Please pay.{separator}Thanks"}, format="json")
    assert step.status_code == 400 and f"U+{ord(separator):04X}" in step.json()["body"][0]
    assert Account.objects.count() == 1 and not StatusChange.objects.exists() and not UsageRecord.objects.exists()
    assert not CollectionStep.objects.exists()


def test_a_note_still_keeps_its_line_breaks_and_tabs(api_support):
    account = make_account()
    response = api_support.post(f"/api/v1/accounts/{account.pk}/status-changes/", {
        "status_type": status_type("Suspended").pk, "option": NOW, "reason": reason("Non-payment").pk,
        "note": "first\tline\r\nsecond line"}, format="json")
    assert response.status_code == 201 and StatusChange.objects.get().note == "first\tline\nsecond line"


# ---------------------------------------------------------------- 5. bulk numbers: the API checks as the file does


def test_api_numbers_are_checked_as_an_uploaded_files_are(api_admin, admin_client):
    account = make_account()
    spoofed = "100\u202e001"
    api = api_admin.post("/api/v1/bulk-status-changes/", {
        "numbers": [account.number, spoofed], "status_type": status_type("Suspended").pk, "option": NOW,
        "reason": reason("Non-payment").pk}, format="json")
    message = "Number 2, “100<U+202E>001”, is not an account number: at most 40 characters that print, without " \
              "control or invisible characters."
    assert (api.status_code, api.json()) == (400, {"numbers": [message]})
    with pytest.raises(DomainError) as err:
        bulk.parse_numbers(f"{account.number}\n{spoofed}\n".encode())
    assert (err.value.field, err.value.message) == ("file", message)
    page = admin_client.post("/accounts/bulk-status/", {
        "status_type": status_type("Suspended").pk, "option": NOW, "reason": reason("Non-payment").pk,
        "file": SimpleUploadedFile("numbers.csv", f"{account.number}\n{spoofed}\n".encode(), "text/csv")})
    assert page.status_code == 400 and "100&lt;U+202E&gt;001" in page.content.decode()
    assert not BulkStatusJob.objects.exists()


@pytest.mark.parametrize("number", ["\u3164", "A\u2028B", "x" * 41])
def test_numbers_the_file_refuses_the_api_refuses(api_admin, number):
    response = api_admin.post("/api/v1/bulk-status-changes/", {
        "numbers": [number], "status_type": status_type("Suspended").pk, "option": NOW,
        "reason": reason("Non-payment").pk}, format="json")
    assert response.status_code == 400 and "numbers" in response.json()
    with pytest.raises(DomainError):
        bulk.parse_numbers(f'"{number}"\n'.encode())
    assert not BulkStatusJob.objects.exists()


# ---------------------------------------------------------------- 6. the upload is CSV


def test_a_quoted_cell_keeps_its_commas_quotes_and_line_breaks():
    raw = (b'number,note\n'
           b'"=HYPERLINK(""https://evil.example"",""x"")","late, again"\n'
           b'100001,"two\nlines"\n'
           b'"1000,02",\n')
    assert bulk.parse_numbers(raw) == ['=HYPERLINK("https://evil.example","x")', "100001", "1000,02"]


def test_a_cell_cut_at_its_comma_is_refused_not_guessed():
    with pytest.raises(DomainError) as err:
        bulk.parse_numbers(b'100001\n=HYPERLINK("https://evil.example","x")\n')
    assert err.value.field == "file"
    assert err.value.message.startswith("Line 2 of the file is not CSV")
    assert "goes in double quotes, each quote in it doubled" in err.value.message


def test_the_number_column_is_found_by_its_header_and_the_first_column_otherwise():
    assert bulk.parse_numbers(b'name,"Number"\r\n"Silva, Ana",100001\r\n"Okafor, Ben",100002\r\n') == [
        "100001", "100002"]
    assert bulk.parse_numbers(b"100001,Ana\n\n100002,Ben\n100001,again\n") == ["100001", "100002"]


def test_the_upload_keeps_its_bounds(monkeypatch):
    with pytest.raises(DomainError, match="larger than 2 MB"):
        bulk.parse_numbers(b"1\n" * (bulk.MAX_CSV_BYTES // 2 + 1))
    with pytest.raises(DomainError, match="not UTF-8"):
        bulk.parse_numbers("100001\n".encode("utf-16"))
    monkeypatch.setattr(bulk, "MAX_CSV_NUMBERS", 3)
    with pytest.raises(DomainError, match="At most 3 account numbers per file"):
        bulk.parse_numbers(b"1\n2\n3\n4\n5\n6\n")
    assert bulk.parse_numbers("\ufeffnumber\n1\n2\n3\n".encode()) == ["1", "2", "3"]


def test_a_quoted_number_reaches_the_job_whole_and_is_exported_as_text(admin_client, admin_user):
    make_account()
    formula = '=HYPERLINK("https://evil.example","x")'
    response = admin_client.post("/accounts/bulk-status/", {
        "status_type": status_type("Suspended").pk, "option": NOW, "reason": reason("Non-payment").pk,
        "file": SimpleUploadedFile("numbers.csv", b'"=HYPERLINK(""https://evil.example"",""x"")"\n', "text/csv")})
    assert response.status_code == 302
    job = BulkStatusJob.objects.get()
    assert job.selection_params == {"numbers": [formula]}


# ---------------------------------------------------------------- 7. an empty body changes nothing


def _exempt(account, until):
    Account.objects.filter(pk=account.pk).update(collections_exempt_until=until, collections_exempt_note="Dispute")


def test_an_empty_exemption_body_is_a_400_and_ends_nothing(api_support):
    account = make_account()
    until = date(2031, 6, 1)
    _exempt(account, until)
    url = f"/api/v1/accounts/{account.pk}/collections-exemption/"
    for body in ({}, {"note": "never mind"}):
        response = api_support.post(url, body, format="json")
        assert (response.status_code, response.json()) == (400, {"until": [
            "Give until: the last day of the exemption (YYYY-MM-DD), or null to end the exemption."]})
    assert Account.objects.get().collections_exempt_until == until
    ended = api_support.post(url, {"until": None}, format="json")
    assert (ended.status_code, ended.json()) == (200, {"until": None, "note": ""})
    assert Account.objects.get().collections_exempt_until is None


def test_the_exemption_page_ends_it_only_with_its_button(support_client):
    account = make_account()
    until = date(2031, 6, 1)
    _exempt(account, until)
    url = f"/accounts/{account.pk}/collections-exemption/"
    empty = support_client.post(url, {})
    assert empty.status_code == 400
    assert "Give the last day of the exemption, or press “End the exemption”." in empty.content.decode()
    assert Account.objects.get().collections_exempt_until == until
    assert support_client.post(url, {"end": "1"}).status_code == 302
    assert Account.objects.get().collections_exempt_until is None


def test_an_empty_form_field_that_is_not_text_is_a_400_not_left_out(api_admin):
    """DRF reads `is_active=` in a form body as "not given" (and creates an active reason); it is a value lost."""
    response = api_admin.post("/api/v1/status-reasons/", {"name": "Dispute", "backend_statuses": ["active"],
                                                          "is_active": ""}, format="multipart")
    assert (response.status_code, response.json()) == (400, {"is_active": ["Give a value, or leave the field out."]})
    assert not StatusReason.objects.filter(name="Dispute").exists()
    left_out = api_admin.post("/api/v1/status-reasons/", {"name": "Dispute", "backend_statuses": ["active"]},
                              format="multipart")
    assert left_out.status_code == 201
