import AllauthStore

/// The brute-force limits on second factors (as in django-jwt-allauth): a budget per challenge and a
/// sliding-window budget per user, both in SQLite so every worker counts the same failures.
/// Called inside the verifying transaction (`BEGIN IMMEDIATE`), so parallel guesses in several
/// workers are counted one after the other and cannot all slip under the limit.
struct MFABudget {
    let db: any SQLConnection
    let settings: MFASettings

    /// What one more failure did to the budgets.
    enum Verdict: Equatable {
        /// Budgets left: the caller answers "Invalid code."
        case retry
        /// The challenge spent its own budget and was deleted.
        case challengeInvalidated
        /// The user's budget is spent: every login challenge is gone until `retryAfter`.
        case lockedOut(retryAfter: Int)
    }

    /// Seconds until the user may try again, or nil when not locked out. Locked when the last
    /// `max_attempts` failures all fall inside the window; the lock lifts as the oldest ages out.
    func lockedFor(userID: Int64, now: Double) throws -> Int? {
        guard settings.maxAttempts > 0 else { return nil }
        let recent = try ChallengeStore(db: db).failures(userID: userID, since: now - settings.lockout)
        guard recent.count >= settings.maxAttempts else { return nil }
        let oldestCounted = recent[recent.count - settings.maxAttempts]
        return max(1, Int(oldestCounted + settings.lockout - now))
    }

    /// Records a wrong answer to challenge `challengeID` of `userID`.
    func recordFailure(challengeID: String, userID: Int64, now: Double) throws -> Verdict {
        let challenges = ChallengeStore(db: db)
        try challenges.addFailure(userID: userID, at: now)
        let failures = try challenges.recordFailure(challengeID)
        if let retryAfter = try lockedFor(userID: userID, now: now) {
            try challenges.deleteAll(userID: userID, kind: .login)
            return .lockedOut(retryAfter: retryAfter)
        }
        if settings.challengeMaxAttempts > 0 && failures >= settings.challengeMaxAttempts {
            try challenges.delete(challengeID)
            return .challengeInvalidated
        }
        return .retry
    }
}
