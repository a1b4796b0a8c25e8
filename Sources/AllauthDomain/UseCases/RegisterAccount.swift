import AllauthRuntime
import AllauthStore

/// `registration/`: a validated sign-up (fields, password policy and the two passwords checked by
/// the handler) for an account. The rules are here: the sign-up limit per client address, a hash
/// computed whatever happens next (a taken address costs the time of a free one), the per-address
/// mail budget, and under `mfa.mode: required` the same decoy setup challenge for a new address and
/// a taken one (`Registration` does the store's part).
package struct RegisterAccount {
    let throttle: Throttle
    let limits: ThrottleSettings
    let hasher: BudgetedHasher
    let registration: Registration
    let emailVerification: EmailVerification
    let mfaMode: MFAMode


    package enum Outcome {
        /// Too many sign-ups from this client address.
        case throttled(retryAfter: Int)
        /// Nothing to hand out yet: the confirmation mail was sent (or, for a taken address with
        /// enumeration hidden, the owner was told), and the answer is the same for both.
        case verificationSent
        /// `required` MFA: a setup challenge id that leads nowhere, for a new address and a taken one
        /// alike; the enrolment comes after the address is confirmed, at the first login.
        case decoySetupChallenge(id: String)
        /// Enumeration hiding off under mandatory verification: the session exists but stays
        /// disabled until the link is followed (no access token in the answer).
        case pendingSession(IssuedSession)
        /// Signed in; `verificationSent` when a confirmation mail went out too.
        case signedIn(SignInOutcome, verificationSent: Bool)
        case emailTaken
    }

    /// `client`: nginx's `REMOTE_ADDR`. Throws `HashingBudgetExhausted` (a 503) when the pool is too
    /// busy to hash, after giving the sign-up's unit back.
    package func callAsFunction(email: String, password: String, firstName: String, lastName: String, client: String,
                                device: DeviceInfo, now: Int64) throws -> Outcome {
        let reservation: Throttle.Reservation
        switch try throttle.consume([(Throttle.bucket("registration_ip", client), limits.registrationIP)]) {
        case .allowed(let taken): reservation = taken
        case .limited(let retryAfter): return .throttled(retryAfter: retryAfter)
        }
        // Hashed whatever happens next, so a taken address costs the same time as a free one.
        let hash = try throttle.refundingOnOverload(reservation) { try hasher.hash(password) }
        let mayMail = try emailVerification != .none && mailBudgetAllows(email)
        let signUp = SignUp(email: email, passwordHash: hash, firstName: firstName, lastName: lastName)
        switch try registration.register(signUp, mayMail: mayMail, device: device, now: now) {
        case .hiddenConflict where mfaMode == .required, .created(_, signIn: nil) where mfaMode == .required:
            return .decoySetupChallenge(id: ChallengeStore.newIdentifier())
        case .created(_, signIn: nil), .hiddenConflict:
            return .verificationSent
        case .created(_, signIn: .session(let session)) where emailVerification == .mandatory:
            return .pendingSession(session)
        case .created(_, signIn: let outcome?):
            return .signedIn(outcome, verificationSent: emailVerification == .mandatory)
        case .emailTaken:
            return .emailTaken
        }
    }

    /// Whether the per-address mail budget allows one more confirmation or notice to `email`.
    private func mailBudgetAllows(_ email: String) throws -> Bool {
        if case .allowed = try throttle.consume([(Throttle.bucket("confirmation_mail", email), limits.confirmationMailAddress)]) {
            return true
        }
        return false
    }
}
