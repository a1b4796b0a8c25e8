import AllauthDomain
import AllauthRuntime
import FastCGI
import Foundation

/// `POST password/reset/` (ask for a link) and `GET password/reset/confirm/<uidb64>/<token>/`
/// (follow it). The new password itself is set by `SetPasswordHandler.resetSetNew`.
enum PasswordResetHandler {
    /// Every accepted request takes at least this long, whether a mail was queued or not, so the
    /// answer's timing does not tell which addresses have accounts (the reference's floor).
    static let minimumDuration: TimeInterval = 0.5

    static func request(_ request: Request, _ context: HandlerContext) throws -> Response {
        let started = Date()
        var body = try RequestBody(request)
        let email = body.emailAddress()
        try body.validate()
        guard let email else { throw APIError.badRequest("Invalid data.") }
        let limits = context.config.throttle
        // Counted before the look-up, so unknown addresses run out exactly like known ones. The 429
        // is per client network and per target address from that network: requests from elsewhere
        // for the same address cannot make the owner's own request fail.
        let client = ClientNetwork.of(request.remoteAddress)
        try context.requireWithinLimits([(Throttle.bucket("password_reset_ip", client), limits.passwordResetIP),
                                         (Throttle.bucket("password_reset_address", email + " from " + client), limits.passwordResetAddress)],
                                        detail: "Too many password reset requests for this e-mail address.")
        // What protects the mailbox is the address's own mail budget, whoever asks. Once it is
        // spent no new link is issued: the answer stays the same, and the last link mailed stays
        // the one that works, so the owner can still reset through a flood of requests.
        if case .allowed = try context.throttle.consume([(Throttle.bucket("password_reset_mail", email), limits.passwordResetAddress)]) {
            try context.passwordReset.request(email: email, now: context.now)
        }
        // A deliberate wait: the worker's running turn goes to another request meanwhile.
        Blocking.sleep(seconds: minimumDuration - Date().timeIntervalSince(started))
        return .detail("Password reset e-mail has been sent.")
    }

    static func confirm(_ request: Request, _ context: HandlerContext) throws -> Response {
        let outcome = try context.passwordReset.open(uid: context.parameters["uidb64"] ?? "", token: context.parameters["token"] ?? "",
                                                     now: context.now)
        switch outcome {
        case .opened(let capability):
            let config = context.config
            return context.capabilityRedirect(
                request, to: context.redirectTarget(config.redirects.passwordReset, builtIn: "password/reset/default/"),
                cookie: config.cookies.passwordReset, capability: capability)
        case .invalid:
            // The reference's answer: the reset page in its "link invalid" state, 200, no cookies
            // (whatever capability cookie an earlier link left in the browser).
            return try context.page(.passwordResetForm, for: request, ignoringCapability: true)
        }
    }
}
