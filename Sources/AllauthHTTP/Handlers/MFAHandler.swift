import AllauthCore
import AllauthDomain
import FastCGI
import Foundation

/// The `mfa/` endpoints: enrolment (`setup/`, `activate/`), the login challenge (`verify/`,
/// `verify-recovery/`), and the enrolled user's own `deactivate/` and `authenticators/`.
enum MFAHandler {
    static let challengeInvalid = APIError.badRequest("Challenge expired or invalid.")

    static func setup(_ request: Request, _ context: HandlerContext) throws -> Response {
        var body = try RequestBody(request)
        let (user, setupChallenge, key) = try enrollingUser(request, context, &body)
        try body.validate()
        let provisioning: TOTPProvisioning
        switch try context.flows.mfaEnrolment(key).begin(for: user, now: context.now) {
        case .provisioning(let made): provisioning = made
        case .alreadyActive: throw APIError.badRequest("TOTP already activated.")
        case .addressUnconfirmed: throw addressUnconfirmed(context, viaChallenge: setupChallenge != nil)
        }
        return .json(.object([("secret", .string(provisioning.secret)), ("provisioning_uri", .string(provisioning.uri)),
                              ("qr_code", .string(provisioning.qrCodeSVG))]))
    }

    static func activate(_ request: Request, _ context: HandlerContext) throws -> Response {
        // The bootstrap flow answers with the refresh cookie.
        try context.requireAllowedOrigin(request)
        var body = try RequestBody(request)
        let (user, setupChallenge, key) = try enrollingUser(request, context, &body)
        let code = body.totpCode("code")
        try body.validate()
        guard let code else { throw APIError.badRequest("Invalid data.") }
        switch try context.flows.mfaEnrolment(key).activate(for: user, code: code, setupChallenge: setupChallenge,
                                                            device: context.device(request), now: context.now) {
        case .activated(let codes, let session):
            let members: [(String, JSON)] = [("success", true), ("recovery_codes", .array(codes.map(JSON.string)))]
            if let session { return context.sessionResponse(session, extra: members) }
            return .json(.object(members))
        case .notInitiated: throw APIError.badRequest("Setup not initiated.")
        case .alreadyActive: throw APIError.badRequest("TOTP already activated.")
        case .wrongCode: throw APIError.badRequest("Invalid code.")
        case .addressUnconfirmed: throw addressUnconfirmed(context, viaChallenge: setupChallenge != nil)
        }
    }

    /// No second factor before the address is confirmed. Through a setup challenge under mandatory
    /// verification the answer is the one a challenge that leads nowhere gets (the decoy a taken
    /// address's sign-up receives), so the two cannot be told apart.
    private static func addressUnconfirmed(_ context: HandlerContext, viaChallenge: Bool) -> APIError {
        if viaChallenge && context.config.accounts.emailVerification == .mandatory { return .notProvided }
        return .coded(.forbidden, "Confirm your e-mail address before adding a second factor.", code: "email_not_verified")
    }

    static func verify(_ request: Request, _ context: HandlerContext) throws -> Response {
        try answerChallenge(request, context) { body in body.totpCode("code").map(SecondFactor.totp) }
    }

    static func verifyRecovery(_ request: Request, _ context: HandlerContext) throws -> Response {
        try answerChallenge(request, context) { body in body.string("recovery_code", maxLength: 64).map(SecondFactor.recoveryCode) }
    }

    static func deactivate(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        let key = try context.requireMFAKey()
        // Answered before the body is read (the reference's order); `RemoveSecondFactor` keeps the rule.
        guard context.config.mfa.mode != .required else { throw APIError.forbidden("MFA TOTP is required and cannot be disabled.") }
        var body = try RequestBody(request)
        let password = body.string("password")
        try body.validate()
        guard let password else { throw APIError.badRequest("Invalid data.") }
        switch try context.flows.removeSecondFactor(key)(principal, password: password, client: request.remoteAddress) {
        case .removed:
            return .json(.object([("success", true)]))
        case .notActive:
            throw APIError.badRequest("TOTP not activated.")
        case .required:
            throw APIError.forbidden("MFA TOTP is required and cannot be disabled.")
        case .wrongPassword:
            context.record(.mfaFailed(factor: "password"), request)
            throw APIError.badRequest("Invalid password.")
        case .throttled(let retryAfter):
            throw APIError.throttled(FailedLoginBudget.exhausted, retryAfter: retryAfter)
        }
    }

    static func authenticators(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        _ = try context.requireMFAKey()
        let rows = try AuthenticatorStore(context.db).list(userID: principal.userID)
        return .json(.array(rows.map { row in
            .object([("id", .number(Double(row.id))), ("type", .string(row.type.rawValue)),
                     ("created_at", .string(timestamp(row.createdAt))), ("last_used_at", row.lastUsedAt.map { .string(timestamp($0)) } ?? .null)])
        }))
    }

    // MARK: shared steps

    /// `verify/` and `verify-recovery/`: the same checks and answers around a different factor.
    private static func answerChallenge(_ request: Request, _ context: HandlerContext,
                                        factor: (inout RequestBody) -> SecondFactor?) throws -> Response {
        let key = try context.requireMFAKey()
        // The answer sets the refresh cookie.
        try context.requireAllowedOrigin(request)
        var body = try RequestBody(request)
        let challengeID = body.string("challenge_id", maxLength: 64)
        let presented = factor(&body)
        try body.validate()
        guard let challengeID, let presented else { throw APIError.badRequest("Invalid data.") }
        let lockedOut = "Too many failed MFA attempts. Try again later."
        // Per client address, as login/: a unit is taken now and given back on success, so only
        // failures count (one address guessing across many accounts' challenges).
        let reservation: Throttle.Reservation
        switch try context.throttle.consume([(Throttle.bucket("mfa_verify_ip", request.remoteAddress), context.config.throttle.mfaVerifyIP)]) {
        case .allowed(let taken): reservation = taken
        case .limited(let retryAfter): throw APIError.throttled(lockedOut, retryAfter: retryAfter)
        }
        switch try context.flows.mfaVerification(key).answer(challengeID: challengeID, with: presented, device: context.device(request), now: context.now) {
        case .signedIn(let session):
            try context.throttle.release(reservation)
            return context.sessionResponse(session)
        case .challengeInvalid: throw challengeInvalid
        case .lockedOut(let retryAfter): throw APIError.throttled(lockedOut, retryAfter: retryAfter)
        case .notEnrolled: throw APIError.badRequest("TOTP not activated.")
        case .noRecoveryCodes: throw APIError.badRequest("Recovery codes not available.")
        case .wrongCode:
            context.record(.mfaFailed(factor: presented.eventName), request)
            if case .recoveryCode = presented { throw APIError.badRequest("Invalid recovery code.") }
            throw APIError.badRequest("Invalid code.")
        case .challengeInvalidated:
            context.record(.mfaFailed(factor: presented.eventName), request)
            throw APIError.badRequest("Too many failed attempts. Challenge invalidated.")
        case .accountInactive:
            throw APIError.unauthorized("No active account found with the given credentials", code: "no_active_account")
        }
    }

    /// Who is enrolling: the Bearer token's user (after a recent `reauthenticate/`), or (anonymous,
    /// `required` mode's bootstrap) the owner of a live `setup_challenge_id`. A challenge presented beside a Bearer token must be
    /// that user's own. Answers the user and the challenge to spend at activation.
    private static func enrollingUser(_ request: Request, _ context: HandlerContext,
                                      _ body: inout RequestBody) throws -> (UserRecord, String?, MFAKey) {
        let challengeID = body.string("setup_challenge_id", required: false, maxLength: 64)
        let challengeOwner = try challengeID.flatMap { try ChallengeStore(db: context.db).find($0, kind: .setup, now: context.now)?.userID }
        let userID: Int64
        if request.authorization != nil {
            let principal = try context.authenticate(request)
            userID = principal.userID
            if challengeID != nil && challengeOwner != userID { throw challengeInvalid }
            // While MFA is disabled: 403 after the authentication, before anything else.
            _ = try context.requireMFAKey()
            // A second factor is a way into the account: a stolen access token alone must not add
            // one (and take its recovery codes). The setup challenge comes from a login that just
            // proved the password.
            if challengeOwner == nil { try context.requireRecentReauthentication(principal) }
        } else {
            guard let challengeOwner else { throw APIError.notProvided }
            userID = challengeOwner
        }
        guard let user = try context.users.find(id: userID), user.isActive else { throw APIError.notProvided }
        return (user, challengeOwner == nil ? nil : challengeID, try context.requireMFAKey())
    }

    /// ISO 8601 in UTC with microseconds, as the reference lists authenticators.
    static func timestamp(_ seconds: Double) -> String {
        let whole = floor(seconds)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let base = formatter.string(from: Date(timeIntervalSince1970: whole))
        return String(base.dropLast()) + String(format: ".%06dZ", Int((seconds - whole) * 1_000_000))
    }
}

extension RequestBody {
    /// A TOTP code: exactly six ASCII digits (not any Unicode digit: "١٢٣٤٥٦" is refused here,
    /// not compared).
    mutating func totpCode(_ name: String) -> String? {
        guard let text = string(name) else { return nil }
        let count = text.count
        if count < TOTP.digits { fail(name, "Ensure this field has at least \(TOTP.digits) characters.") }
        if count > TOTP.digits { fail(name, "Ensure this field has no more than \(TOTP.digits) characters.") }
        guard count == TOTP.digits else { return nil }
        guard text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            fail(name, "Enter the \(TOTP.digits)-digit code from your authenticator app.")
            return nil
        }
        return text
    }
}
