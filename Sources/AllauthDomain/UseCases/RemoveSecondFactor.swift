/// `mfa/deactivate/`: the principal removes its TOTP authenticator and recovery codes, proving its
/// password. The password is a guess like a login's (`PasswordGuess`: the same failed-login budget),
/// so a stolen access token cannot try passwords here without limit; under `mfa.mode: required`
/// nobody may remove the second factor.
package struct RemoveSecondFactor {
    let guess: PasswordGuess
    let enrolment: MFAEnrolment
    let mode: MFAMode

    package enum Outcome: Equatable {
        case removed
        /// The account has no TOTP authenticator.
        case notActive
        /// `mfa.mode: required`: the second factor cannot be removed.
        case required
        case wrongPassword
        case throttled(retryAfter: Int)
    }

    package func callAsFunction(_ principal: Principal, password: String, client: String) throws -> Outcome {
        guard mode != .required else { return .required }
        switch try guess.check(password, of: principal.account, client: client) {
        case .throttled(let retryAfter): return .throttled(retryAfter: retryAfter)
        case .wrong: return .wrongPassword
        case .right: return try enrolment.deactivate(userID: principal.userID) ? .removed : .notActive
        }
    }
}
