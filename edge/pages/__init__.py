"""The hall's pages: home, visitor kiosk, window consoles and their cases, display board, public
guide, printable notices, the hall manager's page and the visitor's phone page; one module per screen, what they share in
`common`.

Server-rendered Jinja templates (Simplified Chinese UI) with one local stylesheet and a few
small local scripts: nothing is loaded from the internet. Every read and every command runs on
the hall's writer thread through `Hall.run`, so a page sees one consistent state; the handlers
here only translate HTTP to those calls. Forms post to a page route and redirect
(POST/redirect/GET); a refusal of the domain (`Refused` and its subclasses) is stored as a
one-shot flash message in the session and shown on the page the browser is sent back to.
docs/pages.md describes every page.
"""

from __future__ import annotations

from .board import BoardPage
from .checkin import CheckinPages
from .console import ConsolePages
from .console_cases import ConsoleCasesPages
from .console_leave import ConsoleLeavePages
from .guide import GuidePages
from .home import HomePage
from .kiosk import KioskPages
from .manage import ManagePages
from .manage_coverage import ManageCoveragePages
from .manage_duty import ManageDutyPages
from .manage_closing import ManageClosingPages
from .manage_complaints import ManageComplaintPages
from .manage_followups import ManageFollowupPages
from .manage_leave import ManageLeavePages
from .manage_stepaways import ManageStepAwayPages
from .notices import NoticePages
from .phone import PhonePages
from .sim import SimPage

PAGES = [HomePage, KioskPages, CheckinPages, ConsolePages, ConsoleCasesPages, BoardPage, GuidePages, NoticePages,
         ManagePages, ManageLeavePages, ManageCoveragePages, PhonePages]
# the hall manager's work pages and the clerk's own leave (issue 13)
PAGES += [ManageClosingPages, ManageStepAwayPages, ManageFollowupPages, ManageComplaintPages, ConsoleLeavePages,
          ManageDutyPages]


def page_handlers(simulate: bool) -> list:
    """The page controllers; with `simulate` also the device simulator at /sim."""
    return [*PAGES, SimPage] if simulate else list(PAGES)
