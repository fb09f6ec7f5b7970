//! RFC 3261 §17 transactions for proxy mode (issue 5): sans-IO state machines,
//! the transaction table and the timer service.
