import FastCGI

/// The account flows, wired to this request's connection and the service's configuration.
extension HandlerContext {
    var oneTimeTokens: OneTimeTokens { OneTimeTokens(db) }
    var mailer: AccountMailer { AccountMailer(config: config, templates: service.templates, outbox: Outbox(db), requestLanguage: language) }
    /// Every hash a request computes takes a slot of the pool's budget (`BudgetedHasher`).
    var hasher: BudgetedHasher { BudgetedHasher(hasher: PasswordHasher(iterations: config.accounts.passwordIterations), budget: service.hashing) }
    var registration: Registration { Registration(db: db, config: config, issuer: service.issuer, mailer: mailer) }
    var emailConfirmation: EmailConfirmation { EmailConfirmation(db: db, config: config) }
    var passwordReset: PasswordReset { PasswordReset(db: db, config: config, mailer: mailer) }
    var capabilities: CapabilityRedemption { CapabilityRedemption(db: db, config: config, issuer: service.issuer) }
    var invitations: Invitations { Invitations(db: db, config: config, mailer: mailer) }
    var credentialChange: CredentialChange { CredentialChange(db: db, config: config) }
    var socialLogin: SocialLogin { SocialLogin(db: db, config: config, issuer: service.issuer) }

    /// Takes one unit from each limit, or throws 429 with `detail` when any is exhausted.
    func requireWithinLimits(_ buckets: [(bucket: String, rate: Config.Rate?)], detail: String) throws {
        if case .limited(let retryAfter) = try throttle.consume(buckets) {
            throw APIError.throttled(detail, retryAfter: retryAfter)
        }
    }

    /// Whether the per-address mail budget allows one more confirmation or notice to `email`.
    func mayMail(_ email: String) throws -> Bool {
        if case .allowed = try throttle.consume([(Throttle.bucket("confirmation_mail", email), config.throttle.confirmationMailAddress)]) {
            return true
        }
        return false
    }

    /// A configured redirect target, or the built-in page below the mount.
    func redirectTarget(_ configured: String?, builtIn path: String) -> String {
        configured ?? config.server.mount + "/" + path
    }
}
