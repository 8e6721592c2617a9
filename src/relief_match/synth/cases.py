"""The catalogue of planted cases and decoys for the 14 checks (design.md section 8).

Which checks are planted, at which link difficulties and how many times, and
which decoy kinds exist; :mod:`relief_match.synth.planter` plants them.
"""

from __future__ import annotations

RULES = (
    "DECEASED",
    "DUPLICATE_ENROLLMENT",
    "PAID_AFTER_EXIT",
    "OVERPAID",
    "VEHICLE",
    "REAL_ESTATE",
    "ENTERPRISE",
    "INDIVIDUAL_BUSINESS",
    "PUBLIC_EMPLOYEE",
    "INCOME_OVER_STANDARD",
    "UNDECLARED_EMPLOYMENT",
    "INCARCERATED",
    "HUKOU_MOVED",
    "UNDECLARED_SPOUSE",
)
EXACT_RULES = ("DECEASED", "PAID_AFTER_EXIT", "OVERPAID")
_PERSON_DIFFS = (
    "clean",
    "messy_id",
    "fuzzy_typo",
    "fuzzy_transposed",
    "traditional",
    # the clerks' harder errors: two mistyped digits, a legacy 15-digit number
    # with a mistyped digit, a mistyped digit with the given-name characters
    # swapped or a homophone
    "two_typos",
    "legacy_typo",
    "name_swapped",
    "name_homophone",
)
#: The link difficulty a same-birth namesake decoy's record has, in turn.
NAMESAKE_TYPO_DIFFS = ("fuzzy_typo", "two_typos", "fuzzy_transposed", "legacy_typo")
RULE_DIFFICULTIES: dict[str, tuple[str, ...]] = {
    "DECEASED": (*_PERSON_DIFFS, "fuzzy_no_id"),
    "DUPLICATE_ENROLLMENT": _PERSON_DIFFS,
    "PAID_AFTER_EXIT": ("clean",),
    "OVERPAID": ("clean",),
    "HUKOU_MOVED": ("clean", "messy_id", "traditional"),
    **{
        r: _PERSON_DIFFS
        for r in (
            "VEHICLE",
            "REAL_ESTATE",
            "ENTERPRISE",
            "INDIVIDUAL_BUSINESS",
            "PUBLIC_EMPLOYEE",
            "INCOME_OVER_STANDARD",
            "UNDECLARED_EMPLOYMENT",
            "INCARCERATED",
            "UNDECLARED_SPOUSE",
        )
    },
}
# household-level checks get more cases, as they have a single difficulty
HOUSEHOLD_MULTIPLIER = {"PAID_AFTER_EXIT": 3, "OVERPAID": 3}

NAMESAKE_RULES = (
    "DECEASED",
    "VEHICLE",
    "REAL_ESTATE",
    "ENTERPRISE",
    "INDIVIDUAL_BUSINESS",
    "PUBLIC_EMPLOYEE",
    "INCOME_OVER_STANDARD",
    "UNDECLARED_EMPLOYMENT",
    "INCARCERATED",
    "HUKOU_MOVED",
    "UNDECLARED_SPOUSE",
)
# decoy kind -> rule it would be wrongly flagged under
DECOY_KINDS: dict[str, str] = {
    "exempt_vehicle": "VEHICLE",
    "vehicle_cancelled": "VEHICLE",
    "property_cancelled": "REAL_ESTATE",
    "single_residence": "REAL_ESTATE",
    "parking_or_homestead": "REAL_ESTATE",
    "enterprise_closed": "ENTERPRISE",
    "legal_person_shareholder": "ENTERPRISE",
    "business_closed": "INDIVIDUAL_BUSINESS",
    "state_owned_employer": "PUBLIC_EMPLOYEE",
    "employment_ended_before_benefits": "PUBLIC_EMPLOYEE",
    "income_at_or_below_standard": "INCOME_OVER_STANDARD",
    "resident_pension_only": "UNDECLARED_EMPLOYMENT",
    "contributions_stopped_before_window": "UNDECLARED_EMPLOYMENT",
    "death_after_last_payment": "DECEASED",
    "payment_in_exit_month": "PAID_AFTER_EXIT",
    "split_payment_equal_to_amount": "OVERPAID",
    "detention_before_benefits": "INCARCERATED",
    "marriage_then_divorce": "UNDECLARED_SPOUSE",
    "spouse_in_household": "UNDECLARED_SPOUSE",
    "exited_and_active_household": "DUPLICATE_ENROLLMENT",
}
