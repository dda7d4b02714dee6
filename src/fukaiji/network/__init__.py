"""情報提供ネットワークシステム (information provision network): institutions and their departments,
the legal basis of queries (``legal_basis``), 機関別符号 issue (``codes``), and queries relayed
with their 情報提供等記録 (``linkage``). It never imports ``fukaiji.intermediate``: what it needs
from an intermediate server is passed in as a callable."""
