"""Code with one bug each, that fixes are asked for in every kind of test."""

SHIPPING_UNDEFINED = (
    "import math\n\n\n"
    "def shipping_cost(weight_kg: float, express: bool) -> float:\n"
    "    base = 4.5 + 1.2 * math.ceil(weight_kg)\n"
    "    return base * 2 if express else bse\n\n\n"
    "print(shipping_cost(2.0, True))\n"
)
# The same function, fixed, with its colon missing instead.
SHIPPING_NO_COLON = SHIPPING_UNDEFINED.replace("-> float:", "-> float").replace(
    "else bse", "else base"
)
# The same function, with nothing wrong in it.
SHIPPING = SHIPPING_UNDEFINED.replace("else bse", "else base")
# A misspelt name that fails its test: both built-in models fix it from the
# failure (tests/e2e/test_failure_fixes.py).
BUGGY_STATS = "def average(values):\n    total = sum(values)\n    return total / len(value)\n"
STATS_TEST = (
    "from stats import average\n\n\ndef test_average():\n    assert average([1, 2, 3]) == 2\n"
)
