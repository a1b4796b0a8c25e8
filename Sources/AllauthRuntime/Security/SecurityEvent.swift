/// A security-relevant fact, written as one `key=value` line by `SecurityLog` for operators and
/// fail2ban (`config/fail2ban/`). Fields name the client address, the session or the account id:
/// never a password, token, link or secret, and no e-mail address.
public enum SecurityEvent: Sendable, Equatable {
    /// Wrong e-mail or password on `login/`.
    case loginFailed
    /// A wrong old password on `password/change/`: a password guess like a wrong login, so it is
    /// written as `login_failed` too (fail2ban bans on it), with the route and the account, whose
    /// access token the guesser holds.
    case oldPasswordRejected(userID: Int64)
    /// A request refused by one of the service's own rate limits (429), on `route`.
    case throttled(route: String)
    /// A rotated refresh token presented again: the whole session was revoked.
    case replayDetected(session: String, userID: String)
    /// A wrong second factor on `mfa/verify/` or `mfa/verify-recovery/` (`factor`: `totp`,
    /// `recovery_code`), or a wrong password on `mfa/deactivate/` (`password`).
    case mfaFailed(factor: String)
    case passwordChanged(userID: Int64)
    case passwordReset(userID: Int64)
    case accountDeactivated(userID: Int64)
    /// The operator's account changes from the command line (`jwt-allauth users …`), for the audit trail.
    case accountActivated(userID: Int64)
    case roleChanged(userID: Int64, role: Int)
    case accountDeleted(userID: Int64)

    /// The `event=` value. fail2ban's filter bans on `login_failed`, `mfa_failed`, `throttled` and `replay_detected`.
    public var name: String {
        switch self {
        case .loginFailed, .oldPasswordRejected: "login_failed"
        case .throttled: "throttled"
        case .replayDetected: "replay_detected"
        case .mfaFailed: "mfa_failed"
        case .passwordChanged: "password_changed"
        case .passwordReset: "password_reset"
        case .accountDeactivated: "account_deactivated"
        case .accountActivated: "account_activated"
        case .roleChanged: "role_changed"
        case .accountDeleted: "account_deleted"
        }
    }

    var fields: [(String, String)] {
        switch self {
        case .loginFailed: []
        case .oldPasswordRejected(let userID): [("route", "password/change/"), ("user", String(userID))]
        case .throttled(let route): [("route", route)]
        case .replayDetected(let session, let userID): [("session", session), ("user", userID)]
        case .mfaFailed(let factor): [("factor", factor)]
        case .passwordChanged(let userID), .passwordReset(let userID), .accountDeactivated(let userID), .accountActivated(let userID),
             .accountDeleted(let userID):
            [("user", String(userID))]
        case .roleChanged(let userID, let role): [("user", String(userID)), ("role", String(role))]
        }
    }

    /// The pool counter this event also adds to, if any.
    package var counter: PoolCounter? {
        switch self {
        case .loginFailed, .oldPasswordRejected: .failedLogins
        case .throttled: .throttledRequests
        case .replayDetected: .replaysDetected
        case .mfaFailed, .passwordChanged, .passwordReset, .accountDeactivated, .accountActivated, .roleChanged, .accountDeleted: nil
        }
    }
}
