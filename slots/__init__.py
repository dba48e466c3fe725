"""Delivery promises at checkout: the 211 rules, wave capacity, and the customer's choice."""

from .capacity import DRIVE_MINUTES_PER_DOOR, SELL_SHARE, pickup_key, wave_capacity, wave_key
from .checkout import book, choose, simulate_checkout
from .clock import clock_of
from .model import Order, Promise, PromiseType, Reason, Sale
from .rules import MAX_211_VOLUME_M3, MAX_211_WEIGHT_KG, promises, wave_for

__all__ = [
    "DRIVE_MINUTES_PER_DOOR", "MAX_211_VOLUME_M3", "MAX_211_WEIGHT_KG", "SELL_SHARE",
    "Order", "Promise", "PromiseType", "Reason", "Sale",
    "book", "choose", "clock_of", "pickup_key", "promises", "simulate_checkout",
    "wave_capacity", "wave_for", "wave_key",
]
