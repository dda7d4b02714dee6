"""不開示措置 (non-disclosure measures) and the 相談窓口 (consultation desk): protected persons,
case facts, guidance, the usage-stop status, exclusion lists and the exposure check."""
