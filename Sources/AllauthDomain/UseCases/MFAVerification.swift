import AllauthStore
import Foundation

/// The second factor a client presents against a login challenge.
package enum SecondFactor {
    case totp(String)
    case recoveryCode(String)

    /// How a security event names it (never the code itself).
    package var eventName: String {
        switch self {
        case .totp: "totp"
        case .recoveryCode: "recovery_code"
        }
    }
}

/// What answering a login challenge did (the handler only translates it into HTTP).
package enum ChallengeOutcome {
    case signedIn(IssuedSession)
    /// Unknown, expired, used or invalidated challenge.
    case challengeInvalid
    case lockedOut(retryAfter: Int)
    case notEnrolled
    case noRecoveryCodes
    /// Wrong code; the budgets still allow another try.
    case wrongCode
    case challengeInvalidated
    /// The account was deactivated while the challenge was pending.
    case accountInactive
}

/// `mfa/verify/` and `mfa/verify-recovery/`: completes a login that owes its second factor.
package struct MFAVerification {
    let db: any SQLConnection
    let mfa: MFASettings
    let issuer: SessionIssuer
    let key: MFAKey

    package func answer(challengeID: String, with factor: SecondFactor, device: DeviceInfo, now: Int64) throws -> ChallengeOutcome {
        let challenges = ChallengeStore(db: db)
        let authenticators = AuthenticatorStore(db)
        let budget = MFABudget(db: db, settings: mfa)
        let clock = Double(now)
        // One write transaction from the look-up to the session: the per-code replay guard (two
        // workers given the same code: one accepts, the other sees the step already used), the
        // single use of recovery codes and challenges, and the budgets all hold across workers.
        // Failures are returned, not thrown, so that their count commits.
        return try db.transaction(.write) { () throws -> ChallengeOutcome in
            guard let (userID, _) = try challenges.find(challengeID, kind: .login, now: now) else { return .challengeInvalid }
            try challenges.lockSecondFactors(userID: userID)
            // Read again under the lock: a verification that held it may have spent or invalidated it.
            guard try challenges.find(challengeID, kind: .login, now: now) != nil else { return .challengeInvalid }
            if let retryAfter = try budget.lockedFor(userID: userID, now: clock) { return .lockedOut(retryAfter: retryAfter) }
            switch try authenticators.check(factor, userID: userID, key: key, now: now) {
            case .accepted: break
            case .notEnrolled: return .notEnrolled
            case .noRecoveryCodes: return .noRecoveryCodes
            case .rejected:
                switch try budget.recordFailure(challengeID: challengeID, userID: userID, now: clock) {
                case .retry: return .wrongCode
                case .challengeInvalidated: return .challengeInvalidated
                case .lockedOut(let retryAfter): return .lockedOut(retryAfter: retryAfter)
                }
            }
            try challenges.delete(challengeID)
            try challenges.clearFailures(userID: userID)
            // Unlike the reference, the account is re-read: a deactivation during the challenge wins.
            guard let user = try UserStore(db).findLocked(id: userID), user.isActive else { return .accountInactive }
            return .signedIn(try SignIn(db: db, mfa: mfa, issuer: issuer).openSession(user, device: device, now: now))
        }
    }
}

/// What checking a presented second factor against the user's authenticators found.
enum FactorCheck {
    case accepted
    case rejected
    case notEnrolled
    case noRecoveryCodes
}

extension AuthenticatorStore {
    /// Checks `factor` and spends what it used: the TOTP step (each step once, after the last used
    /// one) or the recovery code. In the caller's write transaction, whose lock makes that single use
    /// hold across workers. Login challenges (`MFAVerification`) and `Reauthentication` both call it.
    func check(_ factor: SecondFactor, userID: Int64, key: MFAKey, now: Int64) throws -> FactorCheck {
        switch factor {
        case .totp(let code):
            guard let totp = try totp(userID: userID) else { return .notEnrolled }
            let secret = try key.open(totp.sealedSecret, userID: userID)
            guard let step = TOTP(secret: secret).matchingStep(code, now: now, after: totp.lastStep) else { return .rejected }
            try markUsed(authenticatorID: totp.id, step: step, now: Double(now))
            return .accepted
        case .recoveryCode(let code):
            guard try hasRecoveryCodes(userID: userID) else { return .noRecoveryCodes }
            return try spendRecoveryCode(userID: userID, digest: key.recoveryCodeDigest(code), now: Double(now)) ? .accepted : .rejected
        }
    }
}
