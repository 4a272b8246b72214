"""What every domain's generator shares: the plan, pools of words, random numbers, a clock.

Faker is slow per value (tens of microseconds); a million rows of it would
take minutes on their own. It fills small pools of names and sentences once,
and the generators combine them with ``random.Random``, which is fast.
Everything is drawn from generators seeded by ``seed``, so the same seed
gives the same data.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

from alchemy_patterns.cli.seeding.loading import Loader
from alchemy_patterns.cli.seeding.plan import Plan

POOL_SIZE = 400


def _distinct(make: Callable[[], str], attempts: int) -> tuple[str, ...]:
    """Up to ``attempts`` distinct values of ``make()``, in the order first drawn."""
    return tuple(dict.fromkeys(make() for _ in range(attempts)))


@dataclass(frozen=True)
class Pools:
    """Small pools of realistic words, drawn once from a seeded Faker."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    words: tuple[str, ...]
    sentences: tuple[str, ...]

    @classmethod
    def from_faker(cls, seed: int) -> Pools:
        faker = Faker("en_US")
        faker.seed_instance(seed)
        return cls(
            first_names=_distinct(faker.first_name, POOL_SIZE),
            last_names=_distinct(faker.last_name, POOL_SIZE),
            words=_distinct(faker.word, POOL_SIZE),
            sentences=_distinct(faker.sentence, POOL_SIZE),
        )


def slug(text: str) -> str:
    """Lower-case letters and digits only: safe in usernames and e-mail addresses."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class Seeding:
    """One seeding run: where rows go, how many, and the shared sources of values."""

    loader: Loader
    plan: Plan
    pools: Pools
    seed: int
    #: Midnight UTC today: dates are spread around it (past orders, future appointments).
    today: dt.datetime

    def rng(self, domain: str) -> random.Random:
        """A generator of its own per domain: one domain's draws never shift another's."""
        return random.Random(f"{self.seed}:{domain}")

    def person(self, rng: random.Random) -> tuple[str, str]:
        return rng.choice(self.pools.first_names), rng.choice(self.pools.last_names)

    def sentence(self, rng: random.Random) -> str:
        sentence: str = rng.choice(self.pools.sentences)
        return sentence

    def paragraph(self, rng: random.Random, most: int = 3) -> str:
        return " ".join(rng.sample(self.pools.sentences, rng.randint(1, most)))

    def days_ago(self, rng: random.Random, days: int) -> dt.datetime:
        """A moment within the last ``days`` days."""
        return self.today - dt.timedelta(seconds=rng.randint(0, days * 86_400))


def start_of_today() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
