"""City-wide background registers (contract section 1 rates), drawn from non-recipients.

Recipients are kept out of every random draw, so that the only findings in the
city are the planted ones; their namesakes are not, so name-only matching
finds plenty of false hits.
"""

from __future__ import annotations

from collections.abc import Callable

from relief_match.synth.background_base import RATES
from relief_match.synth.business_registers import BusinessRegisters
from relief_match.synth.employment_registers import EmploymentRegisters
from relief_match.synth.person_registers import PersonRegisters

__all__ = ["RATES", "Background"]


class Background(PersonRegisters, BusinessRegisters, EmploymentRegisters):
    """Draws the background rows of every register."""

    def steps(self) -> list[tuple[str, Callable[[], object]]]:
        """(extract, draw) in order; each draw fills one table, which can then be written
        and dropped before the next one is drawn (this bounds memory at city scale)."""
        return [
            ("hukou_registry", self.hukou),
            ("enterprises", self.enterprises),
            ("shareholders", self.shareholders),
            ("individual_businesses", self.individual_businesses),
            ("motor_vehicles", self.vehicles),
            ("real_estate", self.real_estate),
            ("public_employees", self.public_employees),
            ("social_insurance", self.social_insurance),
            ("pension_payments", self.pensions),
            ("provident_fund_accounts", self.provident),
            ("unemployment_benefits", self.unemployment),
            ("detentions", self.detentions),
            ("death_certificates", self.deaths),
            ("marriage_registrations", self.marriages),
        ]

    def expected_rows(self) -> dict[str, int]:
        """Rough background row counts, known before drawing (for the delivery plan)."""
        n = self.n
        return {
            "hukou_registry": n,
            "enterprises": self.k("enterprises"),
            "shareholders": self.k("shareholders"),
            "individual_businesses": self.k("individual_businesses"),
            "motor_vehicles": self.k("motor_vehicles"),
            "real_estate": self.k("real_estate"),
            "public_employees": self.k("public_employees"),
            "social_insurance": round(self.k("si_persons") * 11.5 * 1.9),
            "pension_payments": min(self.k("pension_persons"), len(self.elderly)) * 12,
            "provident_fund_accounts": self.k("provident_fund_accounts"),
            "unemployment_benefits": max(self.k("unemployment_benefits"), 3),
            "detentions": max(self.k("detentions"), 3),
            "death_certificates": round(0.012 * n),
            "marriage_registrations": round(self.k("marriages") * 1.25),
        }
