"""Module 3 views: the incident form and the evidence locker desk.

Thin layers over :class:`course.documenting.IncidentForm` and
:class:`course.documenting.LockerDesk`: every decision (validation, consent, hashing, checking)
is made there or in :mod:`course.evidence`; a ``ValueError`` is shown as a message. Each view
returns a ``VBox`` whose ``controls`` attribute names its parts (for tests and for curious
trainees).
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from course import documenting
from course.evidence import Locker
from course.widgets import guard, message_html, province_options, show_message, table_html

__all__ = ["incident_form", "locker_view"]

WIDE = W.Layout(width="420px")
LABEL = {"description_width": "150px"}


def _run(status: W.HTML, action):
    """Like :func:`course.widgets.guard`, and an unexpected error is shown too: a widget callback
    that fails otherwise leaves the trainee looking at a button that seems to do nothing."""
    try:
        return guard(status, action)
    except Exception as exc:  # a bug, not bad input: say so rather than fail silently
        show_message(status, f"Something went wrong ({type(exc).__name__}: {exc}). Nothing "
                     "was saved. Please tell your instructor.", "error")
        return None


def _dropdown(description: str, options, optional: bool = False) -> W.Dropdown:
    """``options`` are values, or (label, value) pairs when people read a name, not a code."""
    choices = ([("(not known)", "")] if optional else []) + [
        o if isinstance(o, tuple) else (o, o) for o in options]
    return W.Dropdown(options=choices, value=choices[0][1] if choices else None,
                      description=description, style=LABEL, layout=WIDE)


def _text(description: str, placeholder: str = "") -> W.Text:
    return W.Text(description=description, placeholder=placeholder, style=LABEL, layout=WIDE)


def _table(frame: pd.DataFrame, caption: str, open_: bool = False) -> str:
    body = table_html(frame, label=caption, index=False) if len(frame) else "<p>(empty)</p>"
    return (f"<details{' open' if open_ else ''}><summary>{html.escape(caption)}</summary>"
            f"{body}</details>")


def incident_form(locker: Locker, handler: str = "Trainee") -> W.VBox:
    """Enter one who-did-what-to-whom record. Save stays disabled for testimony until consent is
    ticked; the locker validates everything else and says what to fix."""
    from course import data

    provinces = sorted(data.load("scenario_places")["province_id"].unique())
    places = list(data.load("scenario_places")["place_id"])
    form = documenting.IncidentForm(locker, provinces=provinces, places=places)
    f = {
        # Text, not a date picker: the browser shows a picker's date in its own locale's order
        # (mm/dd/yyyy in many), while records, data and messages all use YYYY-MM-DD.
        "event_start": _text("Event start", "YYYY-MM-DD"),
        "event_end": _text("Event end", "YYYY-MM-DD (optional)"),
        "province_id": _dropdown("Province", province_options(form.options("province_id"))),
        "place_id": _dropdown("Place", form.options("place_id"), optional=True),
        "act_type": _dropdown("Act (what)", form.options("act_type")),
        "victim_group": _text("Victims (whom)", "group, e.g. Veleni"),
        "victims_count": W.BoundedIntText(value=1, min=0, max=100_000, description="How many",
                                          style=LABEL),
        "perpetrator_type": _dropdown("Alleged perpetrator", form.options("perpetrator_type")),
        "source_id": _text("Source id", "e.g. S01"),
        "source_type": _dropdown("Source type", form.options("source_type")),
        "information_type": _dropdown("Information", form.options("information_type")),
        "witness_name": _text("Witness name", "optional; stored only as a pseudonym"),
        "summary": W.Textarea(description="Summary", placeholder="Short and factual; no names, "
                              "no graphic detail", style=LABEL, layout=W.Layout(width="420px")),
        "consent_recorded": W.Checkbox(description="Informed consent recorded", indent=False),
    }
    save = W.Button(description="Save record", button_style="primary", icon="save")
    status = W.HTML()

    def needs_consent(_=None):
        testimony = f["information_type"].value == "testimony" or bool(f["witness_name"].value.strip())
        save.disabled = testimony and not f["consent_recorded"].value
        save.tooltip = ("Tick 'Informed consent recorded' first: no testimony without consent"
                        if save.disabled else "Validate and save to the locker")
        if save.disabled:
            show_message(status, "Testimony or a witness's name: record the witness's informed "
                         "consent before saving.", "info")
        else:
            status.value = ""

    def on_save(_):
        values = {name: widget.value for name, widget in f.items()}
        message = _run(status, lambda: form.save(values, handler))
        if message:
            show_message(status, message, "ok")

    for name in ("information_type", "witness_name", "consent_recorded"):
        f[name].observe(needs_consent, names="value")
    save.on_click(on_save)
    needs_consent()
    note = W.HTML("<p><i>Fictional scenario only: never enter a real person's details in a "
                  "training notebook.</i></p>")
    box = W.VBox([note, *f.values(), save, status])
    box.controls = {**f, "save": save, "status": status}
    return box


def locker_view(locker: Locker, handler: str = "Trainee") -> W.VBox:
    """Upload a file into the locker, see its hash and the custody log, check the locker, and
    try the tamper demonstration (alter the working copy, check, restore)."""
    desk = documenting.LockerDesk(locker, handler)
    upload = W.FileUpload(description="Choose file", multiple=False)
    source = _text("Source", "who gave it to you, e.g. Witness A")
    method = _text("Method", "how, e.g. copied from phone by cable")
    add = W.Button(description="Add to locker", button_style="primary", icon="lock")
    item = W.Dropdown(description="Item", options=[], style=LABEL)
    fit = W.Layout(width="auto")  # the whole label visible, whatever the language's length
    check = W.Button(description="Verify locker", icon="check", layout=fit)
    alter = W.Button(description="Alter working copy", button_style="warning", layout=fit,
                     tooltip="Demonstration: change the working copy, then verify")
    restore = W.Button(description="Restore working copy", icon="undo", layout=fit)
    status, report, tables = W.HTML(), W.HTML(), W.HTML()

    def refresh():
        items = locker.items()
        chosen, ids = item.value, list(items["item_id"])
        # ipywidgets leaves a drop-down whose options change with no value: it looks empty and
        # the buttons act on nothing. Keep the trainee's choice, or else pick the first item.
        item.options = ids
        item.value = chosen if chosen in ids else (ids[0] if ids else None)
        shown = items[["item_id", "filename", "size", "sha256", "added_utc", "source", "method"]]
        log = locker.custody_log()[["seq", "utc", "item_id", "action", "handler", "sha256",
                                     "entry_hash"]]
        tables.value = (_table(shown, f"Items ({len(items)})", open_=True)
                        + _table(log, f"Custody log ({len(log)} entries)"))

    def on_add(_):
        if not upload.value:
            show_message(status, "Choose a file first (use a made-up file, never real evidence).",
                         "error")
            return
        chosen = upload.value[0]
        message = _run(status, lambda: desk.add_upload(chosen["name"], bytes(chosen["content"]),
                                                        source.value, method.value))
        if message:
            show_message(status, message, "ok")
            refresh()
            item.value = item.options[-1]

    def on_check(_):
        result = _run(report, desk.check)
        if result:
            ok, text = result
            report.value = message_html(text, "ok" if ok else "error").replace("\n", "<br>")
            refresh()

    def act(method_):
        def on_click(_):
            message = _run(status, lambda: method_(item.value))
            if message:
                show_message(status, message, "info")
                report.value = ""
                refresh()
        return on_click

    add.on_click(on_add)
    check.on_click(on_check)
    alter.on_click(act(desk.alter_working_copy))
    restore.on_click(act(desk.restore))
    refresh()
    box = W.VBox([W.HBox([upload, add]), source, method, status,
                  W.HBox([item, check, alter, restore]), report, tables])
    box.controls = {"upload": upload, "source": source, "method": method, "add": add,
                    "item": item, "check": check, "alter": alter, "restore": restore,
                    "status": status, "report": report, "tables": tables}
    return box
