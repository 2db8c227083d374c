#!/usr/bin/env python3
"""Writes a MovieLens-100K-shaped directory with many more people, for bench/load.sh.

Person k (1..PEOPLE) takes the profile and a sample of the ratings of MovieLens person
((k - 1) mod 943) + 1, so tastes stay realistic while the people outnumber any cache.
The catalog (u.item, u.genre) is MovieLens's own. Deterministic (seeded).

usage: synth_people.py ML100K_DIR OUT_DIR PEOPLE [RATINGS_EACH]
"""
import os
import random
import shutil
import sys
from collections import defaultdict


def main() -> None:
    source, out, people = sys.argv[1], sys.argv[2], int(sys.argv[3])
    each = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    os.makedirs(out, exist_ok=True)
    for name in ("u.item", "u.genre"):
        if os.path.exists(os.path.join(source, name)):
            shutil.copy(os.path.join(source, name), os.path.join(out, name))
    with open(os.path.join(source, "u.user"), encoding="latin-1") as f:
        profiles = [line.rstrip("\n").split("|")[1:] for line in f if line.strip()]
    ratings = defaultdict(list)
    with open(os.path.join(source, "u.data"), encoding="latin-1") as f:
        for line in f:
            user, item, rating, at = line.split()
            ratings[int(user)].append((item, rating, at))
    rng = random.Random(15)
    with open(os.path.join(out, "u.user"), "w", encoding="latin-1") as users, open(
        os.path.join(out, "u.data"), "w", encoding="latin-1"
    ) as data:
        for k in range(1, people + 1):
            template = (k - 1) % len(profiles) + 1
            users.write("|".join([str(k), *profiles[template - 1]]) + "\n")
            history = ratings[template]
            for item, rating, at in rng.sample(history, min(each, len(history))):
                data.write(f"{k}\t{item}\t{rating}\t{at}\n")


if __name__ == "__main__":
    main()
