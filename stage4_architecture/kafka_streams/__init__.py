"""kafka_streams: keyed producing, at-least-once consumers, rebalancing and transactions."""
