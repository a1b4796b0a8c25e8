import AllauthStore
import Foundation

/// What `mfa/setup/` hands the user to scan.
package struct TOTPProvisioning {
    package var secret: String
    package var uri: String
    package var qrCodeSVG: String
}

/// What `mfa/setup/` did.
package enum SetupOutcome {
    case provisioning(TOTPProvisioning)
    case alreadyActive
    /// The account's address is not confirmed yet (`MFAEnrolment.mayEnrol`).
    case addressUnconfirmed
}

/// What `mfa/activate/` did.
package enum ActivationOutcome {
    /// Enrolled; `recoveryCodes` are shown this once. `session` is set in the bootstrap flow of
    /// `required` mode when the account may sign in now.
    case activated(recoveryCodes: [String], session: IssuedSession?)
    case notInitiated
    case alreadyActive
    case wrongCode
    case addressUnconfirmed
}

/// Enrolment and removal of TOTP: `mfa/setup/`, `mfa/activate/`, `mfa/deactivate/`, and the
/// operator's `jwt-allauth mfa-remove`.
package struct MFAEnrolment {
    static let recoveryCodeCount = 10

    let db: any SQLConnection
    let accounts: AccountSettings
    let mfa: MFASettings
    let issuer: SessionIssuer
    let key: MFAKey

    /// No second factor before the address is confirmed (unless nothing is ever confirmed, under
    /// `email_verification: none`): a stranger who signs up with somebody else's address must not
    /// bring a factor that would own the account once the owner confirms it or resets its password.
    func mayEnrol(_ user: UserRecord) -> Bool {
        user.emailVerified || accounts.emailVerification == .none
    }

    /// A new pending secret for `user` (replacing any earlier one), valid for the challenge lifetime.
    package func begin(for user: UserRecord, now: Int64) throws -> SetupOutcome {
        guard mayEnrol(user) else { return .addressUnconfirmed }
        let authenticators = AuthenticatorStore(db)
        let secret = TOTP.newSecret()
        let sealed = try key.seal(secret, userID: user.id)
        let stored = try db.transaction(.write) { () throws -> Bool in
            if try authenticators.hasTOTP(userID: user.id) { return false }
            try authenticators.storeSetupSecret(userID: user.id, sealedSecret: sealed, expires: now + Int64(mfa.challengeLifetime))
            return true
        }
        guard stored else { return .alreadyActive }
        let uri = TOTP.provisioningURI(secret: secret, account: user.email, issuer: mfa.issuer)
        return .provisioning(TOTPProvisioning(secret: Base32.encode(secret), uri: uri, qrCodeSVG: try QRCode.svg(for: uri)))
    }

    /// Checks `code` against the pending secret and enrols. `setupChallenge` (already checked to
    /// belong to `user`) is spent; under `required` mode it also opens the session the login owed.
    package func activate(for user: UserRecord, code: String, setupChallenge: String?, device: DeviceInfo, now: Int64) throws -> ActivationOutcome {
        let authenticators = AuthenticatorStore(db)
        let codes = (0..<Self.recoveryCodeCount).map { _ in Self.newRecoveryCode() }
        let digests = codes.map(key.recoveryCodeDigest)
        // One write transaction: two activations of one pending secret cannot both enrol, and the
        // accepted step is stored with the authenticator, so the activation code is not also a
        // valid login code.
        return try db.transaction(.write) { () throws -> ActivationOutcome in
            try ChallengeStore(db: db).lockSecondFactors(userID: user.id)
            // Re-read under the lock: the row the handler read may predate nothing, but the rule is the row's.
            guard let current = try UserStore(db).find(id: user.id), current.isActive else { return .notInitiated }
            guard mayEnrol(current) else { return .addressUnconfirmed }
            if try authenticators.hasTOTP(userID: user.id) { return .alreadyActive }
            guard let sealed = try authenticators.setupSecret(userID: user.id, now: now) else { return .notInitiated }
            let secret = try key.open(sealed, userID: user.id)
            guard let step = TOTP(secret: secret).matchingStep(code, now: now, after: nil) else { return .wrongCode }
            try authenticators.addTOTP(userID: user.id, sealedSecret: sealed, acceptedStep: step, now: Double(now))
            try authenticators.deleteSetupSecret(userID: user.id)
            try authenticators.replaceRecoveryCodes(userID: user.id, digests: digests, now: Double(now))
            guard let setupChallenge else { return .activated(recoveryCodes: codes, session: nil) }
            try ChallengeStore(db: db).delete(setupChallenge)
            guard mfa.mode == .required else { return .activated(recoveryCodes: codes, session: nil) }
            let session = try SignIn(db: db, mfa: mfa, issuer: issuer).openSession(current, device: device, now: now)
            return .activated(recoveryCodes: codes, session: session)
        }
    }

    /// Removes the user's second factors; answers whether there were any. Sessions are untouched
    /// (the user is signed in and proved the password). Durable: a removal lost to a power cut
    /// would bring back a factor the user believes gone.
    package func deactivate(userID: Int64) throws -> Bool {
        try db.transaction(.accessChange) { () throws -> Bool in
            try ChallengeStore(db: db).deleteAll(userID: userID)
            return try AuthenticatorStore(db).removeAll(userID: userID) > 0
        }
    }

    /// 8 random decimal digits (the reference's shape), uniformly drawn.
    static func newRecoveryCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let number = String(UInt32.random(in: 0..<100_000_000, using: &generator))
        return String(repeating: "0", count: 8 - number.count) + number
    }
}
