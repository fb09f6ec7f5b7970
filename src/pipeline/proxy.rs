//! Proxy mode's per-call decisions (issue 5, docs/proxy.md): what a final
//! response from one egress attempt leads to, and which response goes
//! upstream when every attempt has failed (RFC 3261 §16.7). Pure functions;
//! the call state machine that drives transactions and transports builds on
//! them.

use crate::config::ProxyConfig;

/// How one egress attempt ended, as failover sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    /// A final response (300..=699; 2xx never reaches failover).
    Final(u16),
    /// No response at all within the attempt timeout, or the transaction
    /// timed out (counts as 408 Request Timeout, §16.7 step 6 / §16.8).
    Timeout,
    /// Ringing past the ring timeout (timer C): cancelled, counts as 408.
    RingTimeout,
    /// The request could not be sent (connect failure, closed connection,
    /// backed-up queue): counts as 503 Service Unavailable (§16.9).
    TransportError,
}

impl AttemptEnd {
    /// The status this end counts as among the responses of §16.7.
    pub fn code(self) -> u16 {
        match self {
            AttemptEnd::Final(c) => c,
            AttemptEnd::Timeout | AttemptEnd::RingTimeout => 408,
            AttemptEnd::TransportError => 503,
        }
    }

    /// The `code` label of `sipforge_egress_attempts_total`.
    pub fn metric_label(self) -> String {
        match self {
            AttemptEnd::Final(c) => c.to_string(),
            AttemptEnd::Timeout => "timeout".into(),
            AttemptEnd::RingTimeout => "ring_timeout".into(),
            AttemptEnd::TransportError => "transport_error".into(),
        }
    }
}

/// What the call does after an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try the next egress route.
    NextRoute,
    /// Stop: answer upstream with the best response collected (§16.7 step 6).
    Answer,
}

/// Whether the call moves on after an attempt ended. `routes_left`: routes
/// not tried yet; `relayed_ringing`: an 18x of this call went upstream;
/// `cancelled`: the caller cancelled (no more attempts, ever).
pub fn after_attempt(
    cfg: &ProxyConfig,
    end: AttemptEnd,
    routes_left: usize,
    relayed_ringing: bool,
    cancelled: bool,
) -> Next {
    if cancelled || routes_left == 0 {
        return Next::Answer;
    }
    if relayed_ringing && !cfg.failover_after_ringing {
        return Next::Answer;
    }
    let moves_on = match end {
        AttemptEnd::Final(code) => cfg.fails_over(code),
        AttemptEnd::Timeout | AttemptEnd::RingTimeout | AttemptEnd::TransportError => true,
    };
    if moves_on {
        Next::NextRoute
    } else {
        Next::Answer
    }
}

/// Collects the final responses of a call's attempts and picks the one sent
/// upstream (RFC 3261 §16.7 step 6): any 6xx wins (the first one); otherwise
/// the lowest class, the earliest response of that class. A 503 is sent as
/// 500 (§16.7 step 6: a 503 from downstream must not make the upstream
/// element think *we* are overloaded).
#[derive(Debug, Default, Clone)]
pub struct BestResponse {
    /// Index (into the caller's list of stored responses), code, and whether
    /// it was received (not our own 408/503 for a timeout or transport error).
    best: Option<(usize, u16, bool)>,
    count: usize,
}

impl BestResponse {
    /// Records the `index`-th final response with status `code`;
    /// `received`: a carrier's answer (within a class it beats our own
    /// 408/503 for a timeout or transport error: a 486 says more than our
    /// 408).
    pub fn offer(&mut self, index: usize, code: u16, received: bool) {
        self.count += 1;
        let better = match self.best {
            None => true,
            Some((_, cur, cur_received)) => {
                let (c, n) = (cur / 100, code / 100);
                (c != 6 && (n == 6 || n < c)) || (n == c && received && !cur_received)
            }
        };
        if better {
            self.best = Some((index, code, received));
        }
    }

    /// The chosen response: (index, the code to send upstream).
    pub fn chosen(&self) -> Option<(usize, u16)> {
        self.best
            .map(|(i, c, _)| (i, if c == 503 { 500 } else { c }))
    }

    /// How many final responses were offered.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none was offered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_follows_the_config() {
        let cfg = ProxyConfig::default();
        let f = |end, left, ringing, cancelled| after_attempt(&cfg, end, left, ringing, cancelled);
        assert_eq!(f(AttemptEnd::Final(503), 2, false, false), Next::NextRoute);
        assert_eq!(f(AttemptEnd::Final(408), 1, false, false), Next::NextRoute);
        assert_eq!(f(AttemptEnd::Final(486), 2, false, false), Next::Answer);
        assert_eq!(f(AttemptEnd::Final(603), 2, false, false), Next::Answer);
        assert_eq!(f(AttemptEnd::Final(600), 2, false, false), Next::NextRoute);
        assert_eq!(f(AttemptEnd::Timeout, 1, false, false), Next::NextRoute);
        assert_eq!(
            f(AttemptEnd::TransportError, 1, false, false),
            Next::NextRoute
        );
        assert_eq!(f(AttemptEnd::Final(503), 0, false, false), Next::Answer);
        assert_eq!(f(AttemptEnd::Final(503), 3, false, true), Next::Answer);
        // ringing relayed: failover goes on by default, not when configured off
        assert_eq!(f(AttemptEnd::RingTimeout, 1, true, false), Next::NextRoute);
        let strict = ProxyConfig {
            failover_after_ringing: false,
            ..ProxyConfig::default()
        };
        assert_eq!(
            after_attempt(&strict, AttemptEnd::Final(503), 3, true, false),
            Next::Answer
        );
    }

    #[test]
    fn best_response_per_rfc3261_16_7() {
        let pick = |codes: &[u16]| {
            let mut b = BestResponse::default();
            for (i, &c) in codes.iter().enumerate() {
                b.offer(i, c, true);
            }
            b.chosen()
        };
        assert_eq!(pick(&[]), None);
        assert_eq!(pick(&[503]), Some((0, 500)));
        assert_eq!(pick(&[503, 486]), Some((1, 486)));
        assert_eq!(pick(&[486, 404, 503]), Some((0, 486)));
        assert_eq!(pick(&[486, 600, 404, 603]), Some((1, 600)));
        assert_eq!(pick(&[302, 486]), Some((0, 302)));
        assert_eq!(pick(&[500, 408]), Some((1, 408)));
        // Our own 408 (timeout) loses to a carrier's 4xx, not the other way.
        let mut b = BestResponse::default();
        b.offer(0, 408, false);
        b.offer(1, 486, true);
        b.offer(2, 404, true);
        assert_eq!(b.chosen(), Some((1, 486)));
        let mut b = BestResponse::default();
        b.offer(0, 486, true);
        b.offer(1, 408, false);
        assert_eq!(b.chosen(), Some((0, 486)));
        assert_eq!(AttemptEnd::RingTimeout.code(), 408);
        assert_eq!(AttemptEnd::TransportError.metric_label(), "transport_error");
    }
}
