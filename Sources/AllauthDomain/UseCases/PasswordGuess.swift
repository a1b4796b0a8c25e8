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

    /// Checks `password` against the stored hash `stored` reads (nil for an unknown address: the
    /// same work, answered `.wrong`), of the account `email` names, from `client`. `stored` runs only
    /// once the budget allowed the guess, so a refused guess reads nothing; it also gives the rounds
    /// a failure must cost (`StoredRoundsCeiling`). Throws `HashingBudgetExhausted` (a 503) when the
    /// pool is too busy to hash, after giving the unit back: a request refused for load is no guess.
    package func check(_ password: String, account email: String, client: String,
                       against stored: () throws -> (hash: String?, failureCost: Int)) throws -> Verdict {
        let reservation: Throttle.Reservation
        switch try throttle.consume(FailedLoginBudget.buckets(account: email, client: client, limits)) {
        case .allowed(let taken): reservation = taken
        case .limited(let retryAfter): return .throttled(retryAfter: retryAfter)
        }
        let (hash, failureCost) = try stored()
        let verdict = try throttle.refundingOnOverload(reservation) { () throws -> PasswordHasher.Verdict in
            guard let hash else {
                // Same work as a real check, slot included: an unknown address must not answer faster.
                try hasher.verifyNothing(password, failureCost: failureCost)
                return .mismatch
            }
            return try hasher.verify(password, against: hash, failureCost: failureCost)
        }
        guard verdict != .mismatch else { return .wrong }
        try throttle.release(reservation)
        return .right(needsRehash: verdict == .matchNeedsRehash)
    }

    /// The signed-in account's own password (`principal.account.password`), as a guess.
    package func check(_ password: String, of account: UserRecord, client: String) throws -> Verdict {
        try check(password, account: account.email, client: client) { (account.password, 0) }
    }
}
