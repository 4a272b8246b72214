"""The shop: products, carts, orders with price snapshots."""
