import AllauthDomain
import AllauthRuntime
import FastCGI

/// The account flows, wired to this request's connection and the service's configuration.
extension HandlerContext {
    var oneTimeTokens: OneTimeTokens { OneTimeTokens(db) }
    var mailer: AccountMailer { AccountMailer(settings: config.accountMail, templates: service.templates, outbox: Outbox(db), requestLanguage: language) }
    /// Every hash a request computes takes a slot of the pool's budget (`BudgetedHasher`).
    var hasher: BudgetedHasher { BudgetedHasher(hasher: PasswordHasher(iterations: config.accounts.passwordIterations), budget: service.hashing) }
    var registration: Registration { Registration(db: db, accounts: config.accounts, mfa: config.mfa, issuer: service.issuer, mailer: mailer) }
    var emailConfirmation: EmailConfirmation { EmailConfirmation(db: db, capabilities: config.capabilityLifetimes) }
    var passwordReset: PasswordReset { PasswordReset(db: db, accounts: config.accounts, capabilities: config.capabilityLifetimes, mailer: mailer) }
    var capabilities: CapabilityRedemption { CapabilityRedemption(db: db, accounts: config.accounts, mfa: config.mfa, issuer: service.issuer) }
    var invitations: Invitations { Invitations(db: db, accounts: config.accounts, mailer: mailer) }
    var credentialChange: CredentialChange { CredentialChange(db: db, accounts: config.accounts) }
    var logIn: LogIn {
        LogIn(db: db, throttle: throttle, limits: config.throttle, hasher: hasher, store: config.database.location,
              emailVerification: config.accounts.emailVerification, signIn: signIn)
    }
    var logOut: LogOut { LogOut(db: db, tokens: service.tokens) }
    var rotateSession: RotateSession {
        RotateSession(db: db, tokens: service.tokens, issuer: service.issuer, rotationGrace: Int64(config.tokens.rotationGrace))
    }
    var socialLogin: SocialLogin { SocialLogin(db: db, social: config.social, accounts: config.accounts, mfa: config.mfa, issuer: service.issuer) }

    /// Takes one unit from each limit, or throws 429 with `detail` when any is exhausted.
    @discardableResult
    func requireWithinLimits(_ buckets: [(bucket: String, rate: Rate?)], detail: String) throws -> Throttle.Reservation {
        switch try throttle.consume(buckets) {
        case .allowed(let reservation): return reservation
        case .limited(let retryAfter): throw APIError.throttled(detail, retryAfter: retryAfter)
        }
    }

    /// Runs `hashing`; if the pool is too busy to hash (`HashingBudgetExhausted`, a 503), gives the
    /// units of `reservation` back first: a request refused for load is no attempt, and a client
    /// retrying after `Retry-After` must not find itself throttled for it.
    func refundingOnOverload<T>(_ reservation: Throttle.Reservation, _ hashing: () throws -> T) throws -> T {
        do {
            return try hashing()
        } catch let busy as HashingBudgetExhausted {
            try throttle.release(reservation)
            throw busy
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
