-- Operators lose messages silently. A life-safety delivery whose receipt says failed, or that has
-- no receipt after [dispatch] receipt_timeout_s, is retried once through another gateway:
-- rerouted_from names the gateway that lost it (and says the one retry was spent).
ALTER TABLE deliveries ADD COLUMN rerouted_from text;
