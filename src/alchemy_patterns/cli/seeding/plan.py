"""How much demo data each size makes.

Parents are counted; children are drawn per parent within fixed ranges (the
``*_PER_*`` constants), so the totals are close to, not exactly, the
estimates. ``large`` is well above a million rows, ``medium`` about 50,000,
``small`` a few hundred per domain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Ranges drawn per parent (inclusive).
LINES_PER_ORDER = (1, 4)
ITEMS_PER_FILLED_CART = (1, 3)
PETS_PER_OWNER = (1, 3)
CLUBS_PER_STUDENT = (0, 3)
COURSES_PER_STUDENT = (2, 6)
#: Share of users with a profile, and of carts with something in them.
PROFILE_SHARE = 0.5
FILLED_CART_SHARE = 0.4


@dataclass(frozen=True)
class Plan:
    """Counts of the parent rows of each domain, and averages for the link tables."""

    users: int
    admins: int
    products: int
    orders: int
    owners: int
    vets: int
    appointments: int
    students: int
    clubs: int
    courses: int
    posts: int
    likes_per_post: int
    follows_per_user: int
    comments: int

    def estimated_rows(self) -> int:
        """About how many rows the plan inserts (for a progress bar's total)."""
        return round(math.fsum(self._estimates().values()))

    def _estimates(self) -> dict[str, float]:
        return {
            "accounts": self.users * (2 + PROFILE_SHARE),  # users, carts, profiles
            "cart_items": self.users * FILLED_CART_SHARE * _mean(ITEMS_PER_FILLED_CART),
            "shop": self.products + self.orders * (1 + _mean(LINES_PER_ORDER)),
            "clinic": self.owners * (1 + _mean(PETS_PER_OWNER)) + self.vets + self.appointments,
            "school": self.students * (1 + _mean(CLUBS_PER_STUDENT) + _mean(COURSES_PER_STUDENT))
            + self.clubs
            + self.courses,
            "social": self.posts * (1 + self.likes_per_post)
            + self.users * self.follows_per_user
            + self.comments,
        }


def _mean(bounds: tuple[int, int]) -> float:
    return sum(bounds) / 2


PLANS: dict[str, Plan] = {
    "small": Plan(
        users=60,
        admins=3,
        products=80,
        orders=120,
        owners=50,
        vets=6,
        appointments=200,
        students=80,
        clubs=10,
        courses=20,
        posts=150,
        likes_per_post=2,
        follows_per_user=4,
        comments=150,
    ),
    "medium": Plan(
        users=1_600,
        admins=5,
        products=400,
        orders=2_400,
        owners=1_000,
        vets=30,
        appointments=5_000,
        students=1_200,
        clubs=30,
        courses=80,
        posts=4_000,
        likes_per_post=2,
        follows_per_user=4,
        comments=4_000,
    ),
    "large": Plan(
        users=40_000,
        admins=20,
        products=10_000,
        orders=60_000,
        owners=25_000,
        vets=150,
        appointments=120_000,
        students=30_000,
        clubs=60,
        courses=400,
        posts=100_000,
        likes_per_post=2,
        follows_per_user=4,
        comments=100_000,
    ),
}
SIZES = tuple(PLANS)
