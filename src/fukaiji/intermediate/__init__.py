"""中間サーバー (intermediate server) of each institution, and its 団体内統合宛名システム.

The addressee register (``addressees``) gives each person an addressee number; the intermediate
server maps the number to the institution's 機関別符号 (obtained from the network), keeps the
副本 (self-information) and the 不開示フラグ, and answers queries relayed by the network
(``queries``). ``display`` is the only read path the portal may use.

Depends on ``fukaiji.network`` (never the other way round) and on ``fukaiji.registry`` for the
register id the addressee register refers to.
"""

from fukaiji.intermediate.addressees import Enrolment, addressee_number_of, enrol, person_of
from fukaiji.intermediate.display import (
    DisclosableRecord,
    DisclosableSelfInfo,
    disclosable_records,
    disclosable_self_info,
)
from fukaiji.intermediate.errors import (
    IntermediateError,
    InvalidAddresseeNumber,
    InvalidSelfInfo,
    UnknownAddressee,
    UnknownSelfInfoItem,
)
from fukaiji.intermediate.models import (
    Addressee,
    IntermediateCode,
    NondisclosureFlag,
    NondisclosureRequester,
    SelfInfoItem,
)
from fukaiji.intermediate.queries import query
from fukaiji.intermediate.service import (
    FlagReport,
    addressee_status,
    addressee_subject,
    nondisclosure_flag,
    records_of_addressee,
    register_self_info,
    self_info_history,
    set_nondisclosure_flag,
    undisclose_self_info_item,
)

__all__ = [
    "Addressee",
    "DisclosableRecord",
    "DisclosableSelfInfo",
    "Enrolment",
    "FlagReport",
    "IntermediateCode",
    "IntermediateError",
    "InvalidAddresseeNumber",
    "InvalidSelfInfo",
    "NondisclosureFlag",
    "NondisclosureRequester",
    "SelfInfoItem",
    "UnknownAddressee",
    "UnknownSelfInfoItem",
    "addressee_number_of",
    "addressee_status",
    "addressee_subject",
    "disclosable_records",
    "disclosable_self_info",
    "enrol",
    "nondisclosure_flag",
    "person_of",
    "query",
    "records_of_addressee",
    "register_self_info",
    "self_info_history",
    "set_nondisclosure_flag",
    "undisclose_self_info_item",
]
