"""The fixture of the toy plugin flow (zsync_assets_tests/plugin_flows/toy_contacts.py): written
as a new flow's fixture is, and used only while that flow is registered."""

from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit


def rename_contact(env, contact_id: str) -> None:
    # Zuora edits a contact through its account (PUT /v1/accounts/{id}: billToContact / soldToContact).
    (contact,) = env.zuora_records("contacts", id=contact_id)
    account = env.zuora_account(contact["accountId"])
    role = "billToContact" if account["billToId"] == contact_id else "soldToContact"
    env.update_account(contact["accountId"], **{role: {"lastName": f"Edited {contact_id[:8]}"}})


TOY_CONTACTS = FlowFixture("toy_contacts", "zuora", SourceEdit(rename_contact))
