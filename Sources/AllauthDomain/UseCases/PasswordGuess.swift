import AllauthRuntime
import AllauthStore

/// A password check that counts as a guess: `login/`, the old password of `password/change/` and
/// `reauthenticate/` all spend the same failed-login budget (`FailedLoginBudget`: per client
/// network, and per account from that network). A unit is taken before hashing and given back
/// when the password is right, so only failures count and parallel guesses cannot all slip past.
package struct PasswordGuess {
    let throttle: Throttle
    let limits: ThrottleSettings
    let hasher: BudgetedHasher

    package enum Verdict: Equatable {
        /// Right; `needsRehash` when the stored hash has another cost than the configured one.
        case right(needsRehash: Bool)
        case wrong
        /// The budget is spent: nothing was hashed.
        case throttled(retryAfter: Int)
    }

    /// Checks `password` against `hash`, the stored hash of the account `email` names; with no hash
    /// (an unknown address) does the same work and answers `.wrong`. `failureCost`: the rounds a
    /// failure must cost (`StoredRoundsCeiling`). Throws `HashingBudgetExhausted` (a 503) when the
    /// pool is too busy to hash, after giving the unit back: a request refused for load is no guess.
    package func check(_ password: String, against hash: String?, account email: String, client: String,
                       failureCost: Int = 0) throws -> Verdict {
        let reservation: Throttle.Reservation
        switch try throttle.consume(FailedLoginBudget.buckets(account: email, client: client, limits)) {
        case .allowed(let taken): reservation = taken
        case .limited(let retryAfter): return .throttled(retryAfter: retryAfter)
        }
        let verdict: PasswordHasher.Verdict
        do {
            if let hash {
                verdict = try hasher.verify(password, against: hash, failureCost: failureCost)
            } else {
                // Same work as a real check, slot included: an unknown address must not answer faster.
                try hasher.verifyNothing(password, failureCost: failureCost)
                verdict = .mismatch
            }
        } catch let busy as HashingBudgetExhausted {
            try throttle.release(reservation)
            throw busy
        }
        guard verdict != .mismatch else { return .wrong }
        try throttle.release(reservation)
        return .right(needsRehash: verdict == .matchNeedsRehash)
    }
}
