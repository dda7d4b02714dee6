"""Who may see what of a protection across institutions (DESIGN §2, need-to-know). Pure.

The tightest rule that still lets a shelter-area desk work:

- **Registering.** A desk registers only its own people: a current resident of its municipality,
  or someone its institution has already given an addressee number (宛名番号) because it deals
  with her. Anyone else is refused, audited, and the desks protecting her are told.
- **Item-level exposure details** (which items the perpetrator would see, which institutions and
  place names give the region away) go only to a desk that is itself in the shelter area: a local
  government (prefecture or municipality) located in the protected region, whose region reaches
  no prefecture but its own. Every other desk — a national body such as 日本年金機構, the old home
  municipality, a desk whose region lies in another prefecture — sees the open paths and the
  measures that close them, and no item: not even its own, since which of them give "the region"
  away depends on the region it typed. Otherwise a desk could set the region to each prefecture
  in turn and read the answer as a map of where her portal shows something (issue 14, attack 2).
- A shelter-area desk's items name only institutions of the region and the desk itself: a record
  shared with an institution outside the region does not name that institution.
- What is left: an old home municipality in the same prefecture as the shelter may register her
  (she is still its addressee) with its own prefecture as the region and see that prefecture's
  items (never naming an institution outside that prefecture). That registration raises an
  alert to every desk already protecting her and is audited; the masking of the portal views
  (issue 15) keeps those items from the perpetrator.
- **Records between institutions.** Each party sees its own side's 不開示 flag only. The
  requester sees the provider it named, never one the network routed to (住所地市町村長); the
  provider sees only the requester's role, since which municipality asked about her is where she
  went. A requester cannot tell "unknown to the provider" from "no data".
"""

from __future__ import annotations

from fukaiji.network.linkage import InstitutionRef
from fukaiji.network.models import InstitutionKind
from fukaiji.protection.region import ProtectedRegion

LOCAL_GOVERNMENTS = (InstitutionKind.PREFECTURE, InstitutionKind.MUNICIPALITY)


def sees_item_details(desk: InstitutionRef, region: ProtectedRegion) -> bool:
    """Whether the desk of ``desk`` may see every exposed item of a protection with ``region``."""
    return (
        desk.kind in LOCAL_GOVERNMENTS and region.covers(desk) and len(region.prefecture_codes) == 1
    )
