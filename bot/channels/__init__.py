"""Channel adapters: translate a channel's messages to `Incoming`, deliver `Outgoing`. No policy logic here."""
