"""住民基本台帳 (basic resident register): residents, their addresses and moves, and the issue and
change of 個人番号."""
