"""Conversions: events from a store, orders, attribution to clicks, money and reports."""
