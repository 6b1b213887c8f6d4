""" "I'm here" at the kiosk: a visitor who joined the queue from a phone scans the QR
code of their ticket's status page (docs/joining.md, "I'm here at the kiosk").

The kiosk sends the ticket's id from the scanned address (``confirm_here``); the
server lets the ticket be called and says how many are ahead of it. The kiosk shows
"Thank you, you're in the queue" with the number, or why not (the problem screen's
``here_*`` refusals). Nothing is printed: the visitor's ticket is on their phone. A
ticket number typed at the kiosk is not taken (numbers can be guessed); a visitor
without a scanner presses "I'm here" on their phone's page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from queue_server.client import ConnectionLost, NotConnected, RemoteError

if TYPE_CHECKING:
    from .controller import KioskController, Visit

log = logging.getLogger("walkin.kiosk")

#: refusals the problem screen words as "I'm here" ones (``here_<code>``)
REFUSALS = ("not_remote", "ticket_ended", "other_centre", "not_found")


async def confirm_here(
    controller: KioskController, visit: Visit, ticket_id: str, *, language_chosen: bool
) -> None:
    """Ask the server; then the ``here`` screen, the problem screen, or the offline one.
    The visit's screens change only while it is still the kiosk's visit. Scanned
    before a language was chosen (``language_chosen``), the screen speaks the language
    chosen on the phone, if the centre offers it."""
    link = controller.app.link
    assert link is not None
    try:
        reply = await link.request("confirm_here", ticket=ticket_id, timeout=12.0)
    except RemoteError as exc:
        controller.busy = False
        if visit is controller.visit:
            code = f"here_{exc.code}" if exc.code in REFUSALS else "error"
            visit.problem = (code, dict(exc.details))
            controller.show("problem")
        return
    except (ConnectionLost, NotConnected) as exc:
        log.warning("confirm_here not answered: %s", exc)
        controller.busy = False
        if visit is controller.visit:
            controller.show("offline", remember=False)
        return
    controller.busy = False
    if visit is not controller.visit:
        return
    visit.here = reply
    log.info("ticket %s is here (scanned)", reply["ticket"]["number"])
    if not language_chosen:
        _speak(controller, reply["ticket"].get("language"))
    controller.show("here")


def _speak(controller: KioskController, language: Any) -> None:
    centre = controller.centre
    if isinstance(language, str) and centre is not None and language in centre.languages:
        controller.app.language = language
        controller.visit.language = language
