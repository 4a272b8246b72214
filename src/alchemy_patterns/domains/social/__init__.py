"""The guide's social network on the accounts' users: posts, likes, follows, comments."""
