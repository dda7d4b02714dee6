"""不開示措置 (non-disclosure measures) and the 相談窓口 (consultation desk): protected persons,
case facts, guidance, the usage-stop status, exclusion lists and the exposure check."""

# Loading the package starts watching (the register and the network announce person events and
# refuse to go on with nobody listening, fukaiji.events) and masking (the portal builds no view
# before a guard has decided what to hold back, fukaiji.portal.masking).
from fukaiji.protection import masking as _masking  # noqa: F401
from fukaiji.protection import watch as _watch  # noqa: F401
