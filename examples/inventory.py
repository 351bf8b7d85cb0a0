"""A small inventory: the sample file `make run` asks Hearth about."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items: list[Item]) -> float:
    """Return the value of all items in stock."""
    return sum(item.price * item.quantity for item in items)


def cheapest(items: list[Item]) -> Item | None:
    """Return the item with the lowest price, or None when there are none."""
    if not items:
        return None
    

def restock(items: list[Item], name: str, amount: int) -> None:
    """Add amount to the quantity of the item called name."""
    for item in items:
        if item.name == name:
            item.quantity += amount
            return
    raise KeyError(name)
