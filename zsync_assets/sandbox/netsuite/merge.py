"""What an update (`update`, `updateList`, `upsert` of an existing record) does to a stored record.

NetSuite changes only the fields an update sends, clears those named in `nullFieldList`,
merges custom fields by scriptId, and replaces a sublist unless the update says
`replaceAll="false"` (an attribute of every sublist type, default true: e.g. InvoiceItemList in
`zsync_assets/vendor/netsuite-suitetalk/2023_2/xsd/transactions.sales.xsd`); then lines merge by
line number and a line without one is added.
"""

from __future__ import annotations

SUBLISTS = {"itemList": "item", "applyList": "apply", "addressbookList": "addressbook"}


def merge(existing: dict, incoming: dict) -> dict:
    """An update changes only what it sends; custom fields merge by scriptId, sublists replace
    unless replaceAll is false (then lines merge by line number). Whatever is kept keeps its
    shape, the XSD type of each custom field included, so a record reads back the same after
    an update as after an add."""
    data = dict(existing)
    for name in (incoming.get("nullFieldList") or {}).get("name", []):
        data.pop(name, None)
    for key, value in incoming.items():
        if key == "nullFieldList":
            continue
        if key == "customFieldList":
            data[key] = merge_custom_fields(data.get(key), value)
        elif key in SUBLISTS and value.get("replaceAll") is False and key in data:
            child = SUBLISTS[key]
            lines = {line.get("line", i): line for i, line in enumerate(data[key].get(child, []), start=1)}
            for line in value.get(child, []):
                number = line.get("line") or max(lines, default=0) + 1
                old = lines.get(number, {})
                lines[number] = {**old, **line}
                if "customFieldList" in line and "customFieldList" in old:
                    lines[number]["customFieldList"] = merge_custom_fields(
                        old["customFieldList"], line["customFieldList"]
                    )
            data[key] = {**data[key], child: [lines[n] for n in sorted(lines)]}
        else:
            data[key] = value
    return data


def merge_custom_fields(existing: dict | None, incoming: dict) -> dict:
    """Custom fields by scriptId: a sent field replaces the stored one (its typed
    `*CustomFieldRef` entry whole), the others stay as they are, in their order."""
    fields = {f.get("scriptId"): f for f in (existing or {}).get("customField", [])}
    for field in incoming.get("customField", []):
        fields[field.get("scriptId")] = field
    return {
        **(existing or {}),
        **{k: v for k, v in incoming.items() if k != "customField"},
        "customField": list(fields.values()),
    }
