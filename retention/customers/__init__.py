"""Customers and their sales, as told by the shop and CRM."""
