"""Sign up, invite a colleague, and see what each of them may do: in a real Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def test_sign_up_invite_and_join(people: Any, live_server_url: str) -> None:
    owner = people("owner")
    page = owner.page

    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name").fill("Olivia Owner")
    page.get_by_label("Email").fill("olivia@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill("Northwind Telecom")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{live_server_url}/t/northwind-telecom/")
    expect(page.get_by_role("heading", name="Northwind Telecom")).to_be_visible()
    expect(page.get_by_test_id("member-count")).to_have_text("1")
    owner.shot("01-dashboard")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Members").click()
    expect(page).to_have_url(f"{live_server_url}/t/northwind-telecom/members/")
    page.get_by_label("Email").fill("mia@example.com")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    link = page.get_by_test_id("invitation-link")
    expect(link).to_be_visible()
    invitation_url = link.input_value()
    assert invitation_url.startswith(f"{live_server_url}/invitations/")
    expect(page.get_by_test_id("member-row")).to_have_count(1)
    owner.shot("02-invited")

    member = people("member")
    join = member.page
    join.goto(invitation_url)
    expect(join.get_by_role("heading", name="Join Northwind Telecom")).to_be_visible()
    member.shot("03-invitation")
    join.get_by_role("link", name="Create an account").click()
    expect(join.get_by_label("Email")).to_have_value("mia@example.com")
    expect(join.get_by_label("Email")).to_be_disabled()
    join.get_by_label("Your name").fill("Mia Member")
    join.get_by_label("Password").fill(PASSWORD)
    join.get_by_role("button", name="Create account and join").click()
    expect(join).to_have_url(f"{live_server_url}/t/northwind-telecom/")
    expect(join.get_by_text("You are member")).to_be_visible()
    member.shot("04-member-dashboard")

    # The owner's open members page learns of the new member over its WebSocket.
    expect(page.get_by_test_id("member-row")).to_have_count(2)
    expect(page.get_by_test_id("members-table")).to_contain_text("mia@example.com")
    owner.shot("05-owner-sees-member-live")

    join.get_by_role("navigation", name="Sections").get_by_role("link", name="Members").click()
    expect(join.get_by_test_id("member-row")).to_have_count(2)
    expect(join.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(join.get_by_role("button", name="Remove")).to_have_count(0)
    expect(join.get_by_role("combobox")).to_have_count(0)
    member.shot("06-member-members-page")

    # Nor can the member reach the admin actions by posting to them directly.
    csrf = join.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    members_url = f"{live_server_url}/t/northwind-telecom/members/"
    refused = join.request.post(
        members_url, form={"email": "eve@example.com", "role": "admin"}, headers={"X-CSRFToken": csrf}
    )
    assert refused.status == 403
    owner_row = join.request.post(
        f"{live_server_url}/t/northwind-telecom/members/1/role/",
        form={"role": "viewer"},
        headers={"X-CSRFToken": csrf},
    )
    assert owner_row.status in (403, 404)


def test_the_shell_fits_a_phone(people: Any, live_server_url: str) -> None:
    phone = people("phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.page
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Pat Phone")
    page.get_by_label("Email").fill("pat@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill("Pocket Networks")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Members").click()
    expect(page.get_by_role("button", name="Send invitation")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
    phone.shot("01-members-on-a-phone")
