# map-filter-reduce — squares of 0 .. 10^6-1, the even ones, summed:
# builds lists of a million elements and calls a function on each
from functools import reduce


def sq(n):
    return n * n


def even(n):
    return n % 2 == 0


def add(a, b):
    return a + b


print(reduce(add, list(filter(even, list(map(sq, list(range(0, 1000000)))))), 0))
