//! Building the messages a stateful proxy sends (RFC 3261 §16): forwarded
//! requests, relayed responses, CANCEL and ACK.
