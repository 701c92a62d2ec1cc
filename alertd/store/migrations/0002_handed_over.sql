-- When a claimed delivery was handed to a gateway. A daemon that dies between the hand-over and
-- recording the answer leaves such rows "sending" with handed_at set: only those are in doubt
-- (the gateway may have sent them); rows claimed but never handed over are simply queued again.
ALTER TABLE deliveries ADD COLUMN handed_at timestamptz;
