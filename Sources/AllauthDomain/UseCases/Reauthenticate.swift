/// `reauthenticate/`: the principal proves its password again (a guess like a login's, under the
/// same budget: `PasswordGuess`) and, when the account has one, its second factor
/// (`Reauthentication.confirm`); the session may then add ways into the account for a while.
package struct Reauthenticate {
    let guess: PasswordGuess
    let reauthentication: Reauthentication
    /// Seals TOTP secrets; nil while MFA is disabled (no second factor is asked for then).
    let mfaKey: MFAKey?

    package enum Outcome: Equatable {
        case confirmed(ReauthenticationOutcome)
        /// The failed-login budget of this client network (or of this account from it) is spent.
        case throttled(retryAfter: Int)
    }

    package func callAsFunction(_ principal: Principal, password: String, factor: SecondFactor?, client: String,
                                now: Int64) throws -> Outcome {
        let matches: Bool
        switch try guess.check(password, of: principal.account, client: client) {
        case .throttled(let retryAfter): return .throttled(retryAfter: retryAfter)
        case .wrong: matches = false
        case .right: matches = true
        }
        return .confirmed(try reauthentication.confirm(principal, passwordMatches: matches, factor: factor, key: mfaKey, now: now))
    }
}
