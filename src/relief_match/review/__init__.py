"""review stage: what caseworkers found, and what-ifs on the checks (between rules and rank)."""
