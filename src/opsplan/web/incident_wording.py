"""An incident refusal in the words of where it is read (issue 13).

The lifecycle's refusals that say what to do next name the CLI's commands and options
(`opsplan incident resolve 4`, `--root-cause`). On the console's pages the reader has buttons and
boxes, and in the API routes and body fields: each surface says the same refusal again under its
own catalogue key, with the same values. The CLI keeps the lifecycle's words.
"""

from __future__ import annotations

from opsplan.errors import said
from opsplan.incidents.errors import IncidentError

# Lifecycle key -> the console page's key. (`incident.error.task_needs_done` is the CLI's alone: a
# form's task step is always "done".)
CONSOLE = {
    "incident.error.close_open": "console.incidents.err_close_open",
    "incident.error.needs_postmortem": "console.incidents.err_needs_postmortem",
    "incident.error.postmortem_fields": "console.incidents.pm_needs_both",
    "incident.error.no_fields": "incident.error.fields_unchanged",
}
# Lifecycle (or console form) key -> the API's key. The console's forms, which the API shares,
# already word a missing postmortem field by the page's boxes: the API names its body's fields.
API = {
    "incident.error.close_open": "api.incidents.err_close_open",
    "incident.error.needs_postmortem": "api.incidents.err_needs_postmortem",
    "incident.error.postmortem_fields": "api.incidents.err_pm_needs_both",
    "console.incidents.pm_needs_both": "api.incidents.err_pm_needs_both",
    "console.incidents.pm_needs_root_cause": "api.incidents.err_pm_needs_root_cause",
    "console.incidents.pm_needs_fix": "api.incidents.err_pm_needs_fix",
    "incident.error.no_fields": "incident.error.fields_unchanged",
}


def reworded(exc: IncidentError, surface: str) -> IncidentError:
    """`exc` said again in `surface`'s words ("console" or "api"), with its values; else `exc` as it is."""
    own = exc.message_key or ""
    if surface == "console" and own in CONSOLE:
        key = CONSOLE[own]
    elif surface == "api" and own in API:
        key = API[own]
    else:
        return exc
    again = said(IncidentError, key, **(exc.message_values or {}))
    again.message_key = own  # the API's status follows the refusal, not its wording
    return again
