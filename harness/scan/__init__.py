"""``bench scan``: a user's app read without running it under load — its routes, their
dependencies, what runs in the thread pool, the blocking calls in ``async def`` code (suspects),
and a starter scenario file."""
