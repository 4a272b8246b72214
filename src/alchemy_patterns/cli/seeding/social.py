"""The social network: posts, likes, follows and comments between the demo users.

Likes and follows are links with a composite primary key, and a follow of
oneself is refused by a CHECK: each post's likers and each user's followees
are drawn as distinct users, and a user never draws themself. The users
seeded first (the known demo accounts) follow enough people for a full feed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence

from alchemy_patterns.cli.seeding.context import Seeding
from alchemy_patterns.cli.seeding.loading import Family, Row
from alchemy_patterns.domains.social.models import Comment, Post, follows, likes

POSTS_WITHIN_DAYS = 90
#: The known accounts (first in ``user_ids``) follow at least this many people.
DEMO_FOLLOWS = 12
KNOWN_ACCOUNTS = 2


def seed_social(seeding: Seeding, user_ids: Sequence[int]) -> None:
    """Posts first; likes and comments point at them, follows at the users."""
    if len(user_ids) < 2:
        return
    rng = seeding.rng("social")
    # Seconds before today at which each post was made: comments come after their post.
    ages = [rng.randint(0, POSTS_WITHIN_DAYS * 86_400) for _ in range(seeding.plan.posts)]
    posts = _posts(seeding, rng, user_ids, ages)
    post_ids = seeding.loader.insert_families(Post, posts, key="post_id")
    seeding.loader.insert(likes, _likes(seeding, rng, user_ids, post_ids))
    seeding.loader.insert(follows, _follows(seeding, rng, user_ids))
    seeding.loader.insert(Comment, _comments(seeding, rng, user_ids, post_ids, ages))


def _posts(
    seeding: Seeding, rng: random.Random, user_ids: Sequence[int], ages: Sequence[int]
) -> Iterator[Family]:
    for age in ages:
        post = {
            "author_id": rng.choice(user_ids),
            "body": seeding.paragraph(rng),
            "created_at": seeding.today - dt.timedelta(seconds=age),
        }
        yield post, {}


def _distinct_others(rng: random.Random, user_ids: Sequence[int], me: int, count: int) -> list[int]:
    """``count`` distinct users other than the one at index ``me``."""
    picks = rng.sample(range(len(user_ids) - 1), min(count, len(user_ids) - 1))
    return [user_ids[i + (i >= me)] for i in picks]


def _likes(
    seeding: Seeding, rng: random.Random, user_ids: Sequence[int], post_ids: Sequence[int]
) -> Iterator[Row]:
    """Each post liked by 0 to twice the average distinct users."""
    most = 2 * seeding.plan.likes_per_post
    for post_id in post_ids:
        count = min(rng.randint(0, most), len(user_ids))
        for user_id in rng.sample(user_ids, count):
            yield {"user_id": user_id, "post_id": post_id}


def _follows(seeding: Seeding, rng: random.Random, user_ids: Sequence[int]) -> Iterator[Row]:
    most = 2 * seeding.plan.follows_per_user
    for me, follower_id in enumerate(user_ids):
        count = rng.randint(0, most)
        if me < KNOWN_ACCOUNTS:
            count = max(count, DEMO_FOLLOWS)
        for followed_id in _distinct_others(rng, user_ids, me, count):
            yield {"follower_id": follower_id, "followed_id": followed_id}


def _comments(
    seeding: Seeding,
    rng: random.Random,
    user_ids: Sequence[int],
    post_ids: Sequence[int],
    ages: Sequence[int],
) -> Iterator[Row]:
    """Comments on random posts, made between the post and today."""
    for _ in range(seeding.plan.comments if post_ids else 0):
        post = rng.randrange(len(post_ids))
        yield {
            "post_id": post_ids[post],
            "author_id": rng.choice(user_ids),
            "body": seeding.sentence(rng),
            "created_at": seeding.today - dt.timedelta(seconds=rng.randint(0, ages[post])),
        }
