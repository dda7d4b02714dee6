"""情報提供ネットワークシステム (information provision network): institutions, their departments,
and (later) the legal basis of queries, 機関別符号 and 情報提供等記録."""
